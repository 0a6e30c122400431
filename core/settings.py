"""Vitrina's configuration: one Settings class read from the environment (and `.env`)."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_SECRET_FILE = "secret_key"


class Settings(BaseSettings):
    """Every environment variable Vitrina reads. The README lists them all.

    Embedded mode (the default) is an SQLite file, in-process tasks and no Redis. Anything
    else is production mode, which refuses to start without an explicit `SECRET_KEY`.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/vitrina.db"
    redis_url: str | None = None
    secret_key: str | None = Field(default=None, min_length=32)
    data_dir: Path = Path("var")

    jwt_algorithm: str = "HS256"
    jwt_expire_minutes: int = 8 * 60
    # How long an API worker may trust what it last read of a logged-in user (role, active)
    # on its hottest routes (the live audience estimate); 0 reads it on every request.
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    currency: str = Field(default="RUB", pattern="^[A-Z]{3}$")
    # Timestamps without an offset in imported files are local time of the retailer.
    retail_timezone: str = "Europe/Moscow"
    min_audience_size: int = Field(default=100, ge=1)
    # pricing_ai: the retailer's rules over every campaign's discounts. The minimum margin
    # over cost is the default until a retail marketer sets the global guardrail.
    min_margin_bp: int = Field(default=500, ge=0, le=100_000)
    cherry_picker_threshold: float = Field(default=0.15, ge=0, le=1)
    cherry_picker_max_discount_bp: int = Field(default=1000, ge=0, le=10_000)
    # LightGBM's (and lleaves') threads per training or scoring job; default: the cores
    # this process may use. Keep Celery concurrency × threads ≤ cores: on a quiet 2-core
    # machine 1M rows train in 24 s with 2 threads (37 s with 1), but when another job
    # holds a core, 2 OpenMP threads wait on each other (90–120 s against 28–37 s).
    pricing_threads: int = Field(default_factory=lambda: len(os.sched_getaffinity(0)),
                                 ge=1, le=64)
    # offers: per-API-key rate limits (the `limits` notation, e.g. "2000/second"), how
    # often each API worker re-reads campaign states, and the antifraud rules.
    app_rate_limit: str = "2000/second"
    pos_rate_limit: str = "500/second"
    offers_refresh_seconds: float = Field(default=1.0, gt=0, le=60)
    antifraud_rules: str = "receipt_burst,shared_identity,store_outside_campaign"
    antifraud_receipts_per_hour: int = Field(default=5, ge=1)
    antifraud_shared_accounts: int = Field(default=2, ge=2)
    antifraud_shared_days: int = Field(default=30, ge=1)

    log_level: str = "INFO"
    log_json: bool = False
    sql_echo: bool = False

    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    # What the web cabinet's card form needs (GET /api/v1/billing/config): the publishable
    # key and where Stripe.js loads from (localstripe's stand-in in tests).
    stripe_publishable_key: str | None = None
    stripe_js_url: str = "https://js.stripe.com/v3/"

    # Email of notifications; without SMTP_HOST it stays in the outbox and the log.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    email_from: str = "Vitrina <noreply@vitrina.local>"

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite") and not self.redis_url

    @model_validator(mode="after")
    def _require_secrets_outside_embedded_mode(self) -> Settings:
        if not self.embedded and not self.secret_key:
            raise ValueError(
                "SECRET_KEY (at least 32 characters) is required when DATABASE_URL is not "
                "SQLite or REDIS_URL is set"
            )
        if self.stripe_secret_key and not self.stripe_webhook_secret:
            raise ValueError("STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set")
        return self

    def jwt_secret(self) -> str:
        """The signing key; in embedded mode one is generated once and kept in DATA_DIR."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / EMBEDDED_SECRET_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()

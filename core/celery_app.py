"""The Celery application. Without REDIS_URL tasks run in-process (embedded mode)."""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

from core.settings import get_settings

TASK_MODULES = ["core.tasks", "audience.tasks", "pricing_ai.tasks",
                "marketplace_api.notifications.tasks", "marketplace_api.campaigns.tasks",
                "marketplace_api.offers.tasks"]

# Periodic work for `celery beat`, by task name (each domain's tasks module defines it).
BEAT_SCHEDULE = {
    "audience-nightly-features": {"task": "audience.build_features",
                                  "schedule": crontab(hour=2, minute=30)},
    "campaigns-schedule": {"task": "campaigns.advance_due", "schedule": 60.0},
    "notifications-campaign-budgets": {"task": "notifications.check_campaign_budgets",
                                       "schedule": 60.0},
    "notifications-stale-emails": {"task": "notifications.send_stale_emails",
                                   "schedule": 300.0},
    "offers-release-allowances": {"task": "offers.release_allowances", "schedule": 300.0},
    "offers-capture-pending": {"task": "offers.capture_pending", "schedule": 60.0},
}


def make_celery() -> Celery:
    settings = get_settings()
    app = Celery("vitrina", include=TASK_MODULES)
    if settings.redis_url:
        app.conf.update(broker_url=settings.redis_url, result_backend=settings.redis_url)
    else:
        app.conf.update(task_always_eager=True, task_eager_propagates=True,
                        broker_url="memory://", result_backend="cache+memory://")
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        timezone="UTC", enable_utc=True, broker_connection_retry_on_startup=True,
        beat_schedule=BEAT_SCHEDULE,
    )
    return app


celery_app = make_celery()

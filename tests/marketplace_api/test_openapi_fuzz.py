"""Schemathesis over the whole OpenAPI: every operation, called as each staff role and
supplier manager (and the app's and checkout's operations with their API keys), on
PostgreSQL with a small retailer, answers no 5xx, only status codes it declares, and
bodies that match its declared schema.

Generation is bounded (FUZZ_EXAMPLES per operation and kind of data) and deterministic
(a fixed seed, Hypothesis derandomised, no example database), so CI sees the same
requests every run. Valid and invalid data are both generated: odd input must come back
as a 4xx in the one error shape, never as a server error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import hypothesis
import pytest
import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.python.asgi import shutdown_lifespans
from sqlalchemy import select, update

from billing.models import Account, AccountKind
from core.db import session_scope
from core.settings import get_settings
from marketplace_api.campaigns.models import Campaign
from marketplace_api.identity import service as identity
from marketplace_api.identity.models import ApiKey, ApiKeyKind, Organisation, Role, User
from marketplace_api.identity.service import forget_callers, retailer_organisation
from pricing_ai import service as pricing
from pricing_ai.models import GuardrailScope
from pricing_ai.schemas import GuardrailCreate
from tests import factories
from tests.audience.conftest import make_world, shopper_id

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Valid requests per operation and caller; half as many invalid ones (a caller without the
# role is refused before the input is read, so invalid input mostly meets the same checks).
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
FUZZ_SEED = 20260601
KEY_PATHS = r"^/api/v1/(app|pos)/"
ROLES = [Role.supplier_manager, Role.retail_marketer, Role.finance_officer, Role.admin]

CONFIG = SchemathesisConfig.from_dict({"seed": FUZZ_SEED})
# Bounded and the same every run; no shrinking: the first failing example is reported.
SETTINGS = {mode: hypothesis.settings(
    max_examples=examples, derandomize=True, database=None, deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
    for mode, examples in ((GenerationMode.POSITIVE, FUZZ_EXAMPLES),
                           (GenerationMode.NEGATIVE, max(1, FUZZ_EXAMPLES // 2)))}
CHECKS = [schemathesis.checks.not_a_server_error,
          schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance,
          schemathesis.checks.response_schema_conformance]


@dataclass
class FuzzWorld:
    """Headers of each role's user, the app's and the checkout's keys, and what the fuzzer
    must not take away from them (a deactivated login would make the rest of a run a
    string of 401s that prove nothing)."""

    headers: dict[Role, dict[str, str]]
    app_key: dict[str, str]
    pos_key: dict[str, str]
    user_roles: dict[int, Role]
    key_ids: list[int]
    known: dict[str, object]  # path parameters that name existing objects

    def restore(self) -> None:
        with session_scope() as db:
            for user_id, role in self.user_roles.items():
                db.execute(update(User).where(User.id == user_id)
                           .values(is_active=True, role=role))
            db.execute(update(ApiKey).where(ApiKey.id.in_(self.key_ids))
                       .values(revoked_at=None))
        forget_callers()


@pytest.fixture
def fuzz_world(pg_db, tmp_path, monkeypatch) -> FuzzWorld:
    """The audience tests' small retailer (1,500 shoppers, features built, two suppliers,
    three stores) with a launched campaign whose offers are written, and API keys."""
    from tests.offers.conftest import launch_campaign

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUTH_CACHE_SECONDS", "0")  # restore() must apply at once
    get_settings.cache_clear()
    world = make_world()
    market = world.market
    campaign_id = launch_campaign(market, members=[shopper_id(n) for n in range(60)])
    with session_scope() as db:
        retailer = retailer_organisation(db=db)
        app_key = factories.api_key(db, organisation=retailer, kind=ApiKeyKind.app)
        pos_key = factories.api_key(db, organisation=retailer, kind=ApiKeyKind.pos)
        # Objects the fuzzer may change or delete without taking a caller's access away.
        org_a = db.get(Organisation, market.org_a_id)
        spare_key = identity.create_api_key(db=db, organisation=retailer, kind=ApiKeyKind.app,
                                            name="spare")
        spare_user = factories.user(db, organisation=org_a, role=Role.supplier_manager)
        guardrail = pricing.create_guardrail(db=db, user_id=None, data=GuardrailCreate(
            scope=GuardrailScope.sku, target="A-0", max_discount_bp=3000))
        key_ids = list(db.scalars(select(ApiKey.id)))
        known = {
            "organisation_id": market.org_a_id, "user_id": spare_user.id,
            "api_key_id": spare_key.api_key.id, "guardrail_id": guardrail.id,
            "campaign_id": campaign_id,
            "segment_id": db.scalar(select(Campaign.segment_id)
                                    .where(Campaign.id == campaign_id)),
            "account_id": db.scalar(select(Account.id).where(
                Account.organisation_id == market.org_a_id,
                Account.kind == AccountKind.available)),
            "sku": "A-0", "customer_id": shopper_id(1),
        }
    return FuzzWorld(
        headers={Role.supplier_manager: market.manager_a, Role.retail_marketer: market.marketer,
                 Role.finance_officer: market.finance, Role.admin: market.admin},
        app_key={"X-Api-Key": app_key}, pos_key={"X-Api-Key": pos_key},
        user_roles={market.manager_a_id: Role.supplier_manager,
                    market.marketer_id: Role.retail_marketer, market.admin_id: Role.admin,
                    **_finance_id()},
        key_ids=key_ids, known=known)


def _finance_id() -> dict[int, Role]:
    with session_scope() as db:
        user_id = db.scalar(select(User.id).where(User.role == Role.finance_officer))
    return {user_id: Role.finance_officer}


def _operations(*, keys: bool) -> list:
    """The app's operations, those the API keys call or all the others."""
    from marketplace_api.app import create_app

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(), config=CONFIG)
    schema = (schema.include if keys else schema.exclude)(path_regex=KEY_PATHS)
    return [result.ok() for result in schema.get_all_operations()]


def _strategy(operation, mode: GenerationMode, known: dict[str, object]):
    """Generated requests; valid ones also on existing objects (a random id is a 404, and
    only an answer about a real object shows that the declared response schema holds)."""
    generated = operation.as_strategy(generation_mode=mode)
    names = {name: known[name] for name in re.findall(r"{(\w+)}", operation.path)
             if name in known}
    if mode is GenerationMode.NEGATIVE or not names:
        return generated
    return generated | operation.as_strategy(generation_mode=mode, path_parameters=names)


def _fuzz(operations: list, send: Callable[[Case], None],
          known: dict[str, object]) -> list[str]:
    """Runs each operation with valid and with invalid data; the failures, described."""
    failures = []
    try:
        for operation in operations:
            for mode, settings in SETTINGS.items():
                @settings
                @hypothesis.given(case=_strategy(operation, mode, known))
                def run(case: Case) -> None:
                    send(case)

                try:
                    run()
                except hypothesis.errors.Unsatisfiable:
                    continue  # nothing to make invalid (no parameters, no body)
                except (Exception, FailureGroup) as exc:  # all failures, not only the first
                    failures.append(f"{operation.label} [{mode}]: {type(exc).__name__}: {exc}")
    finally:
        shutdown_lifespans()
    return failures


def _send(case: Case, headers: dict[str, str], world: FuzzWorld) -> None:
    case.headers = {**(case.headers or {}), **headers}
    try:
        case.call_and_validate(checks=CHECKS)
    finally:
        if case.method.upper() != "GET":
            world.restore()


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_every_operation_as_each_role(fuzz_world, role):
    failures = _fuzz(_operations(keys=False),
                     lambda case: _send(case, fuzz_world.headers[role], fuzz_world),
                     fuzz_world.known)
    assert not failures, "\n\n".join(failures)


def test_app_and_checkout_operations_with_their_keys(fuzz_world):
    def send(case: Case) -> None:
        pos = case.path.startswith("/api/v1/pos/")
        _send(case, fuzz_world.pos_key if pos else fuzz_world.app_key, fuzz_world)

    failures = _fuzz(_operations(keys=True), send, fuzz_world.known)
    assert not failures, "\n\n".join(failures)

"""The audit log: changes to segments, guardrails, users and keys are recorded with who,
when, before and after; money movements are listed from the ledger; a supplier reads only
its own organisation's entries."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from audience import service as audience
from billing import service as billing
from core import audit
from core.audit import AuditEntry
from core.db import session_scope
from pricing_ai import service as pricing
from pricing_ai.models import GuardrailScope
from pricing_ai.schemas import GuardrailCreate, GuardrailUpdate
from tests import factories

API = "/api/v1"
RULE = {"field": "has_app", "op": "eq", "value": True}


def entries_of(entity_type: str, entity_id) -> list[AuditEntry]:
    with session_scope() as db:
        return list(db.scalars(select(AuditEntry).where(
            AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)))


def audit_list(client, headers, **filters) -> list[dict]:
    response = client.get(f"{API}/audit", headers=headers,
                          params={"filter": json.dumps(filters), "range": "[0,199]"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def market(client) -> factories.Marketplace:
    return factories.marketplace()


def test_segment_create_update_and_archive_are_recorded_with_actor_and_diff(market):
    with audit.acting_as(user_id=market.manager_a_id, organisation_id=market.org_a_id):
        with session_scope() as db:
            segment = audience.create_segment(db=db, organisation_id=market.org_a_id,
                                              name="App users", rule=RULE,
                                              user_id=market.manager_a_id)
            segment_id = segment.id
        with session_scope() as db:
            segment = audience.get_segment(db=db, segment_id=segment_id,
                                           organisation_id=market.org_a_id)
            audience.update_segment(db=db, segment=segment, organisation_id=market.org_a_id,
                                    name="Shoppers with the app",
                                    rule={"not": RULE}, user_id=market.manager_a_id)
        with session_scope() as db:
            segment = audience.get_segment(db=db, segment_id=segment_id,
                                           organisation_id=market.org_a_id)
            audience.archive_segment(db=db, segment=segment, organisation_id=market.org_a_id)

    created, renamed, archived = entries_of("segment", segment_id)
    assert [e.action for e in (created, renamed, archived)] == ["create", "update", "update"]
    assert {e.actor_user_id for e in (created, renamed, archived)} == {market.manager_a_id}
    assert {e.organisation_id for e in (created, renamed, archived)} == {market.org_a_id}
    assert created.before is None and created.after["name"] == "App users"
    assert created.after["status"] == "active"
    assert renamed.before["name"] == "App users"
    assert renamed.after["name"] == "Shoppers with the app"
    assert renamed.before["current_version"] == 1 and renamed.after["current_version"] == 2
    assert "status" not in renamed.changed_fields  # only what changed
    assert set(renamed.changed_fields) == set(renamed.after) == set(renamed.before)
    assert archived.before["status"] == "active" and archived.after["status"] == "archived"
    assert "archived_at" in archived.changed_fields

    # Each rule is a version of its own, recorded under the segment's organisation.
    versions = [e for e in _all_entries() if e.entity_type == "segment_version"]
    assert [v.after["rule"] for v in versions] == [RULE, {"not": RULE}]
    assert {v.organisation_id for v in versions} == {market.org_a_id}


def _all_entries() -> list[AuditEntry]:
    with session_scope() as db:
        return list(db.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_a_rolled_back_change_leaves_no_entry(market):
    before = len(_all_entries())
    with pytest.raises(RuntimeError), session_scope() as db:
        audience.create_segment(db=db, organisation_id=market.org_a_id, name="Gone", rule=RULE)
        raise RuntimeError("the request failed after the flush")
    assert len(_all_entries()) == before


def test_guardrail_changes_are_recorded_for_retailer_staff_only(client, market):
    with audit.acting_as(user_id=market.marketer_id, organisation_id=market.retailer_id):
        with session_scope() as db:
            guardrail = pricing.create_guardrail(
                db=db, data=GuardrailCreate(scope=GuardrailScope.category, target="Dairy",
                                            max_discount_bp=2500),
                user_id=market.marketer_id)
            guardrail_id = guardrail.id
        with session_scope() as db:
            guardrail = pricing.get_guardrail(db=db, guardrail_id=guardrail_id)
            pricing.update_guardrail(db=db, guardrail=guardrail,
                                     data=GuardrailUpdate(max_discount_bp=1500),
                                     user_id=market.marketer_id)

    shown = audit_list(client, market.admin, entity_type="guardrail",
                       entity_id=str(guardrail_id))
    changed = next(e for e in shown if e["action"] == "update")
    assert changed["actor_user_id"] == market.marketer_id
    assert changed["before"]["max_discount_bp"] == 2500
    assert changed["after"]["max_discount_bp"] == 1500
    assert "max_discount_bp" in changed["changed_fields"]
    assert "min_price_minor" not in changed["changed_fields"]
    assert audit_list(client, market.manager_a, entity_type="guardrail") == []


def test_user_create_and_deactivate_through_the_api_name_the_admin(client, market):
    created = client.post(f"{API}/organisations/{market.org_a_id}/users", headers=market.admin,
                          json={"email": "new@sup-a.test", "password": "long-enough-pw",
                                "role": "supplier_manager", "full_name": "Nina"})
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    deactivated = client.patch(f"{API}/users/{user_id}", headers=market.admin,
                               json={"is_active": False})
    assert deactivated.status_code == 200, deactivated.text

    history = audit_list(client, market.admin, entity_type="user", entity_id=str(user_id))
    assert [e["action"] for e in history] == ["update", "create"]  # newest first
    update, create = history
    assert {e["actor_user_id"] for e in history} == {market.admin_id}
    assert {e["organisation_id"] for e in history} == {market.org_a_id}
    assert create["after"]["email"] == "new@sup-a.test" and create["before"] is None
    assert update["before"] == {"is_active": True} and update["after"] == {"is_active": False}
    assert update["changed_fields"] == ["is_active"]
    for entry in history:  # never a password hash
        assert "password_hash" not in json.dumps(entry) and "argon2" not in json.dumps(entry)

    # The supplier's own manager sees the entries of its organisation's user.
    seen_by_supplier = audit_list(client, market.manager_a, entity_type="user",
                                  entity_id=str(user_id))
    assert [e["id"] for e in seen_by_supplier] == [e["id"] for e in history]


def test_api_keys_are_audited_without_their_hash(client, market):
    created = client.post(f"{API}/api-keys", headers=market.admin,
                          json={"kind": "app", "name": "Mobile app"})
    assert created.status_code == 201, created.text
    key_id, secret = created.json()["id"], created.json()["secret"]
    assert client.delete(f"{API}/api-keys/{key_id}", headers=market.admin).status_code == 200
    history = entries_of("api_key", key_id)
    assert [e.action for e in history] == ["create", "update"]
    assert history[1].changed_fields == ["revoked_at"]
    stored = json.dumps([e.after for e in history])
    assert "key_hash" not in stored and secret not in stored


def test_a_supplier_reads_only_its_own_entries_and_gets_404_for_others(client, market):
    with (audit.acting_as(user_id=market.manager_b_id, organisation_id=market.org_b_id),
          session_scope() as db):
        theirs = audience.create_segment(db=db, organisation_id=market.org_b_id,
                                         name="Tea lovers", rule=RULE).id
    with (audit.acting_as(user_id=market.manager_a_id, organisation_id=market.org_a_id),
          session_scope() as db):
        ours = audience.create_segment(db=db, organisation_id=market.org_a_id,
                                       name="Milk lovers", rule=RULE).id

    mine = audit_list(client, market.manager_a)
    assert mine and {e["organisation_id"] for e in mine} == {market.org_a_id}
    assert str(ours) in {e["entity_id"] for e in mine if e["entity_type"] == "segment"}
    assert str(theirs) not in {e["entity_id"] for e in mine if e["entity_type"] == "segment"}
    # Asking for another organisation's entries by filter finds nothing, not an error.
    assert audit_list(client, market.manager_a, organisation_id=market.org_b_id) == []

    other = next(e for e in audit_list(client, market.admin, entity_type="segment",
                                       entity_id=str(theirs)))
    response = client.get(f"{API}/audit/{other['id']}", headers=market.manager_a)
    assert response.status_code == 404 and response.json()["code"] == "audit_entry_not_found"
    assert client.get(f"{API}/audit/{other['id']}", headers=market.manager_b).json() == other
    assert client.get(f"{API}/audit/audit-999999", headers=market.admin).status_code == 404
    assert client.get(f"{API}/audit", headers={}).status_code == 401

    everything = client.get(f"{API}/audit", headers=market.admin, params={"range": "[0,4]"})
    total = int(everything.headers["Content-Range"].rsplit("/", 1)[1])
    with session_scope() as db:
        assert total >= db.scalar(select(func.count()).select_from(AuditEntry))


def test_money_movements_appear_as_ledger_entries(client, market):
    with session_scope() as db:
        billing.top_up(db=db, organisation_id=market.org_a_id, amount_minor=50_000,
                       currency="RUB", source="bank", idempotency_key=uuid.uuid4().hex,
                       actor_user_id=market.admin_id)
        billing.hold_campaign_budget(db=db, organisation_id=market.org_a_id, campaign_id="77",
                                     amount_minor=20_000, currency="RUB",
                                     idempotency_key=uuid.uuid4().hex,
                                     actor_user_id=market.manager_a_id)
    with session_scope() as db:
        billing.top_up(db=db, organisation_id=market.org_b_id, amount_minor=9_000,
                       currency="RUB", source="bank", idempotency_key=uuid.uuid4().hex)

    money = audit_list(client, market.manager_a, entity_type="ledger_transaction")
    assert [e["action"] for e in money] in (["hold", "top_up"], ["top_up", "hold"])
    hold = next(e for e in money if e["action"] == "hold")
    assert hold["actor_user_id"] == market.manager_a_id
    assert hold["organisation_id"] == market.org_a_id
    assert hold["before"] is None
    assert hold["after"]["amount_minor"] == 20_000 and hold["after"]["currency"] == "RUB"
    assert hold["after"]["from_account"]["kind"] == "available"
    assert hold["after"]["to_account"]["kind"] == "budget"
    assert hold["after"]["to_account"]["campaign_id"] == "77"
    assert hold["changed_fields"] == ["amount_minor", "currency", "from_account", "to_account"]
    assert client.get(f"{API}/audit/{hold['id']}", headers=market.manager_a).json() == hold
    assert client.get(f"{API}/audit/{hold['id']}", headers=market.manager_b).status_code == 404

    staff = audit_list(client, market.finance, entity_type="ledger_transaction",
                       action="top_up")
    assert sorted(e["after"]["amount_minor"] for e in staff) == [9_000, 50_000]
    by_date = audit_list(client, market.finance, entity_type="ledger_transaction",
                         at_gte="2000-01-01", at_lte="2000-01-02")
    assert by_date == []
    bad = client.get(f"{API}/audit", headers=market.finance,
                     params={"filter": json.dumps({"at_gte": "yesterday"})})
    assert bad.status_code == 422 and "filter.at_gte" in bad.json()["errors"]
    unknown = client.get(f"{API}/audit", headers=market.finance,
                         params={"filter": json.dumps({"shopper": "C1"})})
    assert unknown.status_code == 422


@pytest.mark.integration
def test_audit_on_postgresql_records_and_lists_both_kinds(pg_db):
    from fastapi.testclient import TestClient

    from marketplace_api.app import create_app

    market = factories.marketplace()
    with (audit.acting_as(user_id=market.manager_a_id, organisation_id=market.org_a_id),
          session_scope() as db):
        segment_id = audience.create_segment(db=db, organisation_id=market.org_a_id,
                                             name="PG", rule=RULE).id
        billing.top_up(db=db, organisation_id=market.org_a_id, amount_minor=1_000,
                       currency="RUB", source="bank", idempotency_key=uuid.uuid4().hex)
    with TestClient(create_app()) as client:
        shown = audit_list(client, market.manager_a)
        kinds = {(e["entity_type"], e["action"]) for e in shown}
        assert ("segment", "create") in kinds and ("ledger_transaction", "top_up") in kinds
        segment = next(e for e in shown if e["entity_type"] == "segment")
        assert segment["entity_id"] == str(segment_id)
        assert segment["actor_user_id"] == market.manager_a_id
        page = client.get(f"{API}/audit", headers=market.admin,
                          params={"range": "[0,1]", "sort": '["at","ASC"]'})
        assert page.status_code == 200 and len(page.json()) == 2
        assert page.headers["Content-Range"].startswith("audit 0-1/")

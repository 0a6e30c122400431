"""In-app notifications: read per organisation through the API; low balance announced once
per crossing of the threshold; a campaign's budget at 80 %, used up, and its end announced
once each."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from audience import service as audience
from billing import service as billing
from billing.errors import InsufficientFunds
from core.db import session_scope, utcnow
from marketplace_api.campaigns.models import Campaign, CampaignStatus, DepthMode
from marketplace_api.notifications import service as notifications
from marketplace_api.notifications.models import Notification, NotificationKind, OutboxEmail
from tests import factories

API = "/api/v1"


def key() -> str:
    return uuid.uuid4().hex


def notices(organisation_id: int, kind: str | None = None) -> list[Notification]:
    with session_scope() as db:
        statement = select(Notification).where(Notification.organisation_id == organisation_id)
        if kind is not None:
            statement = statement.where(Notification.kind == kind)
        return list(db.scalars(statement.order_by(Notification.id)))


@pytest.fixture
def market(client, monkeypatch) -> factories.Marketplace:
    monkeypatch.delenv("SMTP_HOST", raising=False)
    return factories.marketplace()


def test_each_organisation_reads_only_its_own_notifications(client, market):
    with session_scope() as db:
        first = notifications.notify(db=db, organisation_id=market.org_a_id,
                                     kind="campaign_status", subject="A1", body="…").id
        notifications.notify(db=db, organisation_id=market.org_a_id, kind="low_balance",
                             subject="A2", body="…")
        theirs = notifications.notify(db=db, organisation_id=market.org_b_id,
                                      kind="campaign_status", subject="B1", body="…").id

    listed = client.get(f"{API}/notifications", headers=market.manager_a)
    assert listed.status_code == 200
    assert [n["subject"] for n in listed.json()] == ["A2", "A1"]  # newest first
    assert listed.headers["Content-Range"] == "notifications 0-1/2"
    bell = client.get(f"{API}/notifications/unread-count", headers=market.manager_a)
    assert bell.json() == {"unread": 2}

    read = client.post(f"{API}/notifications/{first}/read", headers=market.manager_a)
    assert read.status_code == 200 and read.json()["read_by_user_id"] == market.manager_a_id
    again = client.post(f"{API}/notifications/{first}/read", headers=market.manager_a)
    assert again.json()["read_at"] == read.json()["read_at"]
    assert client.get(f"{API}/notifications/unread-count",
                      headers=market.manager_a).json() == {"unread": 1}
    unread = client.get(f"{API}/notifications", headers=market.manager_a,
                        params={"filter": json.dumps({"unread": True})})
    assert [n["subject"] for n in unread.json()] == ["A2"]

    # Another organisation's notification does not exist for this caller.
    for method, path in (("GET", f"{API}/notifications/{theirs}"),
                         ("POST", f"{API}/notifications/{theirs}/read")):
        response = client.request(method, path, headers=market.manager_a)
        assert response.status_code == 404 and response.json()["code"] == \
            "notification_not_found"
    assert notices(market.org_b_id)[0].read_at is None
    # Retailer staff read the retailer's own notifications, not the suppliers'.
    assert client.get(f"{API}/notifications", headers=market.marketer).json() == []
    assert client.get(f"{API}/notifications", headers={}).status_code == 401


@pytest.mark.integration
def test_low_balance_is_announced_once_per_crossing(pg_db, monkeypatch):
    monkeypatch.delenv("SMTP_HOST", raising=False)
    market = factories.marketplace()
    org = market.org_a_id

    def move(kind: str, amount: int) -> None:
        with session_scope() as db:
            if kind == "top_up":
                billing.top_up(db=db, organisation_id=org, amount_minor=amount, currency="RUB",
                               source="bank", idempotency_key=key())
            else:
                billing.hold_campaign_budget(db=db, organisation_id=org, campaign_id=key()[:8],
                                             amount_minor=amount, currency="RUB",
                                             idempotency_key=key())

    def low() -> list[Notification]:
        return notices(org, NotificationKind.low_balance)

    with session_scope() as db:
        billing.set_low_balance_threshold(db=db, organisation_id=org, currency="RUB",
                                          threshold_minor=10_000)
    move("top_up", 30_000)
    assert low() == []
    move("hold", 25_000)               # 5,000 left: below 10,000
    [first] = low()
    assert "50.00 RUB" in first.subject and "100.00 RUB" in first.body
    assert "Пополните" in first.body and "top it up" in first.body
    move("hold", 1_000)                # still below: no second notice
    move("hold", 500)
    assert len(low()) == 1
    move("top_up", 20_000)             # 23,500: back above
    assert len(low()) == 1
    move("hold", 20_000)               # 3,500: a new crossing
    assert len(low()) == 2
    assert notices(market.org_b_id) == []

    # A movement that fails (more than the balance) rolls its notice back with it.
    with pytest.raises(InsufficientFunds), session_scope() as db:
        billing.hold_campaign_budget(db=db, organisation_id=org, campaign_id="big",
                                     amount_minor=1_000_000, currency="RUB",
                                     idempotency_key=key())
    assert len(low()) == 2


def _running_campaign(market: factories.Marketplace, *, budget: int) -> int:
    with session_scope() as db:
        segment = audience.create_segment(db=db, organisation_id=market.org_a_id,
                                          name="App users",
                                          rule={"field": "has_app", "op": "eq", "value": True})
        now = utcnow()
        campaign = Campaign(organisation_id=market.org_a_id, name="Молоко −15 %",
                            status=CampaignStatus.active, segment_id=segment.id,
                            segment_version=1, skus=market.products_a[:1],
                            starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=6),
                            depth_mode=DepthMode.fixed, discount_bp=1500,
                            limit_units_per_week=2, budget_minor=budget, currency="RUB")
        db.add(campaign)
        db.flush()
        billing.top_up(db=db, organisation_id=market.org_a_id, amount_minor=budget,
                       currency="RUB", source="bank", idempotency_key=key())
        campaign.hold_transaction_id = billing.hold_campaign_budget(
            db=db, organisation_id=market.org_a_id, campaign_id=campaign.id,
            amount_minor=budget, currency="RUB", idempotency_key=key()).transaction_id
        return campaign.id


@pytest.mark.integration
def test_campaign_budget_and_end_are_each_announced_once(pg_db, monkeypatch):
    monkeypatch.delenv("SMTP_HOST", raising=False)
    market = factories.marketplace()
    campaign_id = _running_campaign(market, budget=10_000)

    def use(amount: int) -> None:
        with session_scope() as db:
            billing.authorize(db=db, organisation_id=market.org_a_id, campaign_id=campaign_id,
                              amount_minor=amount, currency="RUB", idempotency_key=key())

    def check() -> int:
        with session_scope() as db:
            return notifications.check_campaign_budgets(db=db)

    use(7_900)
    assert check() == 0                           # 79 %: nothing yet
    use(600)
    assert check() == 1 and check() == 0          # 85 %: once
    [nearly] = notices(market.org_a_id, NotificationKind.budget_nearly_spent)
    assert nearly.campaign_id == campaign_id and "85 %" in nearly.body
    assert "15.00 RUB" in nearly.body             # what is left
    use(1_500)
    assert check() == 1 and check() == 0          # used up: once
    [exhausted] = notices(market.org_a_id, NotificationKind.budget_exhausted)
    assert "израсходован" in exhausted.subject and "used up" in exhausted.subject

    with session_scope() as db:
        campaign = db.get(Campaign, campaign_id)
        campaign.status, campaign.ended_at = CampaignStatus.ended, utcnow()
    assert check() == 1 and check() == 0
    [ended] = notices(market.org_a_id, NotificationKind.campaign_ended)
    assert "завершена" in ended.subject and "ended" in ended.subject
    # Each notice also waits in the outbox as an email to the supplier's active users.
    with session_scope() as db:
        emails = list(db.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))
    assert [e.notification_id for e in emails] == [nearly.id, exhausted.id, ended.id]
    assert {tuple(e.recipients) for e in emails} == {(market.manager_a_email,)}
    assert notices(market.org_b_id) == []

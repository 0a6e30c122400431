"""Campaigns in the web cabinet, in a real browser against the real API on PostgreSQL: a
supplier builds a campaign in the wizard, reads its forecast and submits it; the marketer
rejects it with a reason; the supplier revises and resubmits; the marketer approves; the
supplier launches it (after a bank top-up), and the bell tells them about each step."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.db import session_scope
from core.settings import get_settings
from tests import factories
from tests.frontend.conftest import TIMEZONE, shot
from tests.frontend.test_cabinet import log_in

API = "/api/v1"
MANAGER = "manager@supplier.test"
MARKETER = "marketer@retailer.test"


@dataclass
class Market:
    manager: dict[str, str]
    finance: dict[str, str]
    organisation_id: int
    sku: str
    other_sku: str


@pytest.fixture
def market(cabinet, tmp_path) -> Market:
    """A small simulated retailer (1,500 shoppers, 16 weeks) imported, its features built
    and a small pricing model trained, so that the forecasts are real; the retailer's
    marketer and finance officer, and the first supplier's manager."""
    from audience import service as audience
    from marketplace_api.identity import service as identity
    from marketplace_api.identity.models import OrganisationKind, Role
    from pricing_ai import service as pricing
    from retail.importing import import_folder
    from retail.models import Product
    from retail.simulator import simulate

    audience.forget_snapshot()
    simulate(customers=1_500, weeks=16, seed=5, out=tmp_path / "market")
    import_folder(folder=tmp_path / "market")
    audience.build_features()
    pricing.train(rows=20_000, n_estimators=20, label_weeks=8)
    with session_scope() as db:
        retailer = factories.retailer_org(db)
        factories.user(db, organisation=retailer, role=Role.retail_marketer, email=MARKETER)
        finance = factories.user(db, organisation=retailer, role=Role.finance_officer,
                                 email="finance@retailer.test")
        supplier_id = db.scalar(select(Product.supplier_id).order_by(Product.sku).limit(1))
        org = identity.create_organisation(db=db, name="Поставщик", supplier_id=supplier_id,
                                           kind=OrganisationKind.supplier)
        manager = factories.user(db, organisation=org, role=Role.supplier_manager,
                                 email=MANAGER)
        sku = db.scalar(select(Product.sku).where(Product.supplier_id == supplier_id)
                        .order_by(Product.sku).limit(1))
        other = db.scalar(select(Product.sku).where(Product.supplier_id != supplier_id)
                          .order_by(Product.sku).limit(1))
        built = Market(manager=factories.bearer(manager), finance=factories.bearer(finance),
                       organisation_id=org.id, sku=sku, other_sku=other)
    yield built
    audience.forget_snapshot()
    pricing.forget_artifact()


def _prepare(cabinet: str, market: Market) -> str:
    """Through the API: the supplier's segment, and the finance officer's bank top-up of
    their balance (20,000 ₽). Returns the segment's name."""
    with httpx.Client(base_url=f"{cabinet}{API}", timeout=30) as api:
        segment = api.post("/segments", headers=market.manager, json={
            "name": "Все покупатели",
            "rule": {"field": "visits_per_week", "op": "gte", "value": 0}})
        assert segment.status_code == 201, segment.text
        topup = api.post(
            "/topups/bank", headers={**market.finance, "Idempotency-Key": str(uuid.uuid4())},
            json={"organisation_id": market.organisation_id, "amount_minor": 2_000_000,
                  "currency": "RUB", "document_number": "ПП-1",
                  "document_date": datetime.now().date().isoformat()})
        assert topup.status_code == 201, topup.text
    return segment.json()["name"]


def _next(page: Page) -> None:
    page.get_by_role("button", name="Далее").click()


def _status(page: Page):
    return page.get_by_test_id("campaign-status").first


def test_a_campaign_from_the_wizard_through_approval_to_launch(cabinet, market, page, browser):
    segment = _prepare(cabinet, market)
    today = datetime.now(ZoneInfo(get_settings().retail_timezone)).date()

    # The supplier: the wizard, step by step.
    log_in(page, cabinet, MANAGER)
    page.get_by_role("menuitem", name="Кампании").click()
    page.get_by_role("link", name="Создать").click()
    page.get_by_label("Название").fill("Молочная неделя")
    # The combobox, not its open list of options (both carry the field's label).
    page.get_by_role("combobox", name="Сегмент").fill("Все")
    page.get_by_role("option", name=segment).click()
    _next(page)
    products = page.get_by_role("combobox", name="Товары")
    products.fill(market.other_sku)  # another supplier's product is not offered
    expect(page.get_by_text("Среди ваших товаров такого нет")).to_be_visible()
    products.fill(market.sku)
    page.get_by_role("option", name=re.compile(f"^{market.sku} · ")).click()
    _next(page)
    # The period ends before it starts: the server's complaint shows next to the field.
    page.get_by_label("Начало").fill(today.isoformat())
    page.get_by_label("Окончание").fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("Скидка, %").fill("15")
    page.get_by_label("Бюджет").fill("5 000")
    shot(page, "campaign-wizard-terms")
    _next(page)
    _next(page)
    page.get_by_test_id("wizard-submit").click()
    expect(page.get_by_test_id("wizard-step-terms")).to_be_visible()
    expect(page.locator(".MuiFormHelperText-root.Mui-error")).to_contain_text("after it starts")

    page.get_by_label("Окончание").fill((today + timedelta(days=13)).isoformat())
    _next(page)
    expect(page.get_by_test_id("forecast-chart")).to_be_visible()
    expect(page.get_by_test_id("figure-spend")).to_contain_text("₽")
    expect(page.get_by_test_id("forecast-recommended")).to_contain_text("₽")
    expect(page.get_by_test_id("forecast-clipped")).to_contain_text("%")
    shot(page, "campaign-wizard-forecast")
    _next(page)
    page.get_by_test_id("wizard-submit").click()
    expect(_status(page)).to_have_text("на согласовании")
    expect(page.get_by_test_id("offer-preview")).to_contain_text("Скидка от поставщика")
    expect(page.get_by_test_id("timeline-step")).to_have_count(2)
    shot(page, "campaign-show-supplier")

    # The marketer: the approval queue, the forecast, and a rejection with a reason.
    context = browser.new_context(locale="ru-RU", timezone_id=TIMEZONE,
                                  viewport={"width": 1400, "height": 1000})
    try:
        marketer = context.new_page()
        log_in(marketer, cabinet, MARKETER)
        marketer.get_by_role("menuitem", name="Согласование").click()
        marketer.get_by_role("cell", name="Молочная неделя").click()
        marketer.get_by_role("tab", name="Прогноз").click()
        expect(marketer.get_by_test_id("forecast-chart")).to_be_visible()
        marketer.get_by_role("tab", name="Кампания").click()
        marketer.get_by_test_id("action-reject").click()
        marketer.get_by_test_id("reason").fill("Скидка слишком маленькая")
        marketer.get_by_test_id("confirm-action").click()
        expect(_status(marketer)).to_have_text("отклонена")

        # The supplier sees the reason, deepens the discount and submits again.
        page.reload()
        expect(page.get_by_test_id("rejection-reason")).to_contain_text("Скидка слишком маленькая")
        page.get_by_role("link", name="Редактировать").click()
        _next(page)
        _next(page)
        page.get_by_label("Скидка, %").fill("20")
        _next(page)
        _next(page)
        page.get_by_test_id("wizard-submit").click()
        expect(_status(page)).to_have_text("на согласовании")
        expect(page.get_by_text("20 %", exact=True)).to_be_visible()

        marketer.get_by_role("menuitem", name="Согласование").click()
        marketer.get_by_role("cell", name="Молочная неделя").click()
        marketer.get_by_test_id("action-approve").click()
        expect(_status(marketer)).to_have_text("согласована")
        shot(marketer, "campaign-approved-marketer")
        marketer.get_by_role("menuitem", name="Согласование").click()
        expect(marketer.get_by_test_id("approvals-empty")).to_be_visible()
        marketer.get_by_role("menuitem", name="Антифрод").click()
        expect(marketer.get_by_label("Статус")).to_contain_text("на проверке")
        marketer.get_by_role("menuitem", name="Журнал аудита").click()
        expect(marketer.get_by_role("cell", name="campaign", exact=True).first).to_be_visible()
    except Exception:
        shot(marketer, "FAILED-marketer")
        raise
    finally:
        context.close()

    # The supplier launches: the budget is set aside and the campaign is running.
    page.reload()
    page.get_by_test_id("action-launch").click()
    page.get_by_test_id("confirm-action").click()
    expect(_status(page)).to_have_text("идёт")
    expect(page.get_by_test_id("action-pause")).to_be_visible()
    page.get_by_role("tab", name="Отчёт").click()
    expect(page.get_by_test_id("report-spent")).to_have_text(re.compile(r"^0,00\s₽$"))
    expect(page.get_by_test_id("report-budget-left")).to_have_text(re.compile(r"5\s000,00\s₽"))
    shot(page, "campaign-report")

    # The bell: every status change, newest first; opening one marks it read.
    bell = page.get_by_test_id("notification-bell")
    expect(bell).not_to_have_attribute("data-unread", "0")
    unread = int(bell.get_attribute("data-unread") or "0")
    bell.click()
    notes = page.get_by_test_id("notification")
    expect(notes.first).to_contain_text("идёт")
    expect(page.get_by_test_id("notification-list")).to_contain_text("Скидка слишком маленькая")
    shot(page, "notifications")
    notes.first.click()
    expect(bell).to_have_attribute("data-unread", str(unread - 1))

    # The audit log: the supplier's own changes, the campaign's among them.
    page.get_by_role("menuitem", name="Журнал аудита").click()
    page.get_by_label("Объект", exact=True).fill("campaign")
    expect(page.get_by_role("cell", name="campaign", exact=True).first).to_be_visible()
    shot(page, "supplier-audit")

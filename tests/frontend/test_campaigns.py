"""Campaigns in the web cabinet, in a real browser against the real API on PostgreSQL: a
supplier builds a campaign in the wizard and submits it, the marketer rejects it with a
reason, the supplier revises and resubmits, the marketer approves, the supplier launches
it (after a bank top-up) and the bell tells them about each step."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, expect

from core.settings import get_settings
from tests import factories
from tests.frontend.conftest import shot
from tests.frontend.test_cabinet import log_in, world  # noqa: F401 - the shared fixture

API = "/api/v1"


def _prepare(cabinet: str, world) -> str:  # noqa: F811
    """Through the API: the supplier's segment, and the finance officer's bank top-up of
    their balance. Returns the segment's name."""
    market = world.market
    with httpx.Client(base_url=f"{cabinet}{API}", timeout=30) as api:
        segment = api.post("/segments", headers=market.manager_a, json={
            "name": "Пользователи приложения", "rule": {"field": "has_app", "op": "eq", "value": True}})
        assert segment.status_code == 201, segment.text
        topup = api.post("/topups/bank", headers={**market.finance, "Idempotency-Key": str(uuid.uuid4())},
                         json={"organisation_id": market.org_a_id, "amount_minor": 2_000_000,
                               "currency": "RUB", "document_number": "ПП-1",
                               "document_date": datetime.now().date().isoformat()})
        assert topup.status_code == 201, topup.text
    return segment.json()["name"]


def _train() -> None:
    """A small pricing model on the world's receipts, so that forecasts can be made."""
    from pricing_ai import service as pricing

    started = time.perf_counter()
    pricing.train(rows=5_000, n_estimators=10, label_weeks=2)
    print(f"trained in {time.perf_counter() - started:.1f} s")


def _next(page: Page) -> None:
    page.get_by_role("button", name="Далее").click()


def test_a_campaign_from_the_wizard_through_approval_to_launch(cabinet, world, page, browser):  # noqa: F811
    segment = _prepare(cabinet, world)
    _train()
    today = datetime.now(ZoneInfo(get_settings().retail_timezone)).date()

    # The supplier: the wizard, step by step.
    log_in(page, cabinet, world.market.manager_a_email)
    page.get_by_role("menuitem", name="Кампании").click()
    page.get_by_role("link", name="Создать").click()
    page.get_by_label("Название").fill("Молочная неделя")
    page.get_by_label("Сегмент").fill("Пользователи")
    page.get_by_role("option", name=segment).click()
    _next(page)
    products = page.get_by_label("Товары")
    products.fill("A-1")
    page.get_by_role("option", name=re.compile(r"^A-1 · ")).click()
    expect(page.get_by_role("option", name=re.compile(r"^B-"))).to_have_count(0)  # not the other supplier's
    _next(page)
    # The period ends before it starts: the server's complaint shows by the field.
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
    expect(page.get_by_test_id("forecast-recommended")).to_contain_text("₽")
    expect(page.get_by_test_id("forecast-clipped")).to_contain_text("%")
    shot(page, "campaign-wizard-forecast")
    _next(page)
    page.get_by_test_id("wizard-submit").click()
    status = page.get_by_test_id("campaign-status").first
    expect(status).to_have_text("на согласовании")
    expect(page.get_by_test_id("offer-preview")).to_contain_text("Скидка от поставщика")
    expect(page.get_by_test_id("timeline-step")).to_have_count(2)
    shot(page, "campaign-show-supplier")
    campaign_url = page.url

    # The marketer: the approval queue, the forecast, and a rejection with a reason.
    marketer_context = browser.new_context(locale="ru-RU", timezone_id="Asia/Yekaterinburg",
                                           viewport={"width": 1400, "height": 1000})
    try:
        marketer = marketer_context.new_page()
        log_in(marketer, cabinet, "marketer@retailer.test")
        marketer.get_by_role("menuitem", name="Согласование").click()
        marketer.get_by_role("cell", name="Молочная неделя").click()
        marketer.get_by_role("tab", name="Прогноз").click()
        expect(marketer.get_by_test_id("forecast-chart")).to_be_visible()
        marketer.get_by_role("tab", name="Кампания").click()
        marketer.get_by_test_id("action-reject").click()
        marketer.get_by_test_id("reason").fill("Скидка слишком маленькая")
        marketer.get_by_test_id("confirm-action").click()
        expect(marketer.get_by_test_id("campaign-status").first).to_have_text("отклонена")

        # The supplier sees the reason, revises the budget and submits again.
        page.goto(campaign_url)
        expect(page.get_by_test_id("rejection-reason")).to_contain_text("Скидка слишком маленькая")
        expect(page.get_by_test_id("notification-count")).to_contain_text(re.compile(r"[1-9]"))
        page.get_by_role("link", name="Редактировать").click()
        _next(page)
        _next(page)
        page.get_by_label("Скидка, %").fill("20")
        _next(page)
        _next(page)
        page.get_by_test_id("wizard-submit").click()
        expect(page.get_by_test_id("campaign-status").first).to_have_text("на согласовании")
        expect(page.get_by_text("20 %")).to_be_visible()

        marketer.get_by_role("menuitem", name="Согласование").click()
        marketer.get_by_role("cell", name="Молочная неделя").click()
        marketer.get_by_test_id("action-approve").click()
        expect(marketer.get_by_test_id("campaign-status").first).to_have_text("согласована")
        shot(marketer, "campaign-approved-marketer")
        marketer.get_by_role("menuitem", name="Согласование").click()
        expect(marketer.get_by_test_id("approvals-empty")).to_be_visible()
    finally:
        marketer_context.close()

    # The supplier launches: the budget is set aside and the campaign is active.
    page.reload()
    page.get_by_test_id("action-launch").click()
    page.get_by_test_id("confirm-action").click()
    expect(page.get_by_test_id("campaign-status").first).to_have_text("идёт")
    expect(page.get_by_test_id("action-pause")).to_be_visible()
    page.get_by_role("tab", name="Отчёт").click()
    expect(page.get_by_test_id("report-spent")).to_have_text(re.compile(r"^0,00\s₽$"))
    expect(page.get_by_test_id("report-budget-left")).to_have_text(re.compile(r"5\s000,00\s₽"))
    shot(page, "campaign-report")

    # The bell: every status change, newest first; opening one marks it read.
    page.get_by_test_id("notification-bell").click()
    notes = page.get_by_test_id("notification")
    expect(notes.first).to_contain_text("идёт")
    expect(page.get_by_test_id("notification-list")).to_contain_text("отклонена")
    expect(page.get_by_test_id("notification-list")).to_contain_text("Скидка слишком маленькая")
    shot(page, "notifications")
    before = int(page.get_by_test_id("notification-count").inner_text() or 0)
    notes.first.click()
    expect(page.get_by_test_id("notification-count")).to_have_text(str(before - 1) if before > 1 else "")


def test_the_audit_log_shows_the_suppliers_own_changes(cabinet, world, page):  # noqa: F811
    _prepare(cabinet, world)
    log_in(page, cabinet, world.market.manager_a_email)
    page.get_by_role("menuitem", name="Журнал аудита").click()
    expect(page.get_by_role("cell", name="segment").first).to_be_visible()
    shot(page, "supplier-audit")
    assert factories.PASSWORD  # the supplier logged in with the factories' password

"""The whole story of the web cabinet, in a real browser against the real API on
PostgreSQL: a supplier builds a segment and watches its count change, creates an AI
campaign in the wizard, reads its forecast and submits it; the marketer rejects it with a
reason; the supplier revises and resubmits; the marketer approves. Launching on an empty
balance is refused with a clear message and nothing starts; the finance officer records a
bank top-up; the supplier launches. The shopper's app fetches the offer and activates it,
the checkout's receipt redeems it, and the supplier's report shows the discount spent; the
bell tells them about each step."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from core.db import session_scope
from core.settings import get_settings
from tests import factories
from tests.frontend.conftest import TIMEOUT_MS, TIMEZONE, shot
from tests.frontend.test_cabinet import choose_field, digits, log_in

API = "/api/v1"
MANAGER = "manager@supplier.test"
MARKETER = "marketer@retailer.test"
FINANCE = "finance@retailer.test"
SUPPLIER = "Поставщик"


@dataclass
class Market:
    manager: dict[str, str]
    organisation_id: int
    sku: str
    other_sku: str
    store_id: str
    app_key: dict[str, str]
    pos_key: dict[str, str]


@pytest.fixture
def market(cabinet, tmp_path) -> Market:
    """A small simulated retailer (1,500 shoppers, 16 weeks) imported, its features built
    and a small pricing model trained, so that the forecasts and personal depths are real;
    the retailer's marketer and finance officer, its app's and checkout's API keys, and the
    first supplier's manager."""
    from audience import service as audience
    from marketplace_api.identity import service as identity
    from marketplace_api.identity.models import ApiKeyKind, OrganisationKind, Role
    from pricing_ai import service as pricing
    from retail.importing import import_folder
    from retail.models import Product, Store
    from retail.simulator import simulate

    audience.forget_snapshot()
    simulate(customers=1_500, weeks=16, seed=5, out=tmp_path / "market")
    import_folder(folder=tmp_path / "market")
    audience.build_features()
    pricing.train(rows=20_000, n_estimators=20, label_weeks=8)
    with session_scope() as db:
        retailer = factories.retailer_org(db)
        factories.user(db, organisation=retailer, role=Role.retail_marketer, email=MARKETER)
        factories.user(db, organisation=retailer, role=Role.finance_officer, email=FINANCE)
        app_key = factories.api_key(db, organisation=retailer, kind=ApiKeyKind.app)
        pos_key = factories.api_key(db, organisation=retailer, kind=ApiKeyKind.pos)
        supplier_id = db.scalar(select(Product.supplier_id).order_by(Product.sku).limit(1))
        org = identity.create_organisation(db=db, name=SUPPLIER, supplier_id=supplier_id,
                                           kind=OrganisationKind.supplier)
        manager = factories.user(db, organisation=org, role=Role.supplier_manager,
                                 email=MANAGER)
        sku = db.scalar(select(Product.sku).where(Product.supplier_id == supplier_id)
                        .order_by(Product.sku).limit(1))
        other = db.scalar(select(Product.sku).where(Product.supplier_id != supplier_id)
                          .order_by(Product.sku).limit(1))
        built = Market(manager=factories.bearer(manager), organisation_id=org.id, sku=sku,
                       other_sku=other,
                       store_id=db.scalar(select(Store.store_id).order_by(Store.store_id).limit(1)),
                       app_key={"X-Api-Key": app_key}, pos_key={"X-Api-Key": pos_key})
    yield built
    audience.forget_snapshot()
    pricing.forget_artifact()


def _next(page: Page) -> None:
    page.get_by_role("button", name="Далее").click()


def _status(page: Page):
    return page.get_by_test_id("campaign-status").first


def _roubles(minor: int) -> re.Pattern[str]:
    """The amount as the Russian cabinet shows it: «1 234,50 ₽» (any space between groups)."""
    whole = f"{minor // 100:,}".replace(",", r"\s")
    return re.compile(rf"^{whole},{minor % 100:02d}\s₽$")


@contextmanager
def _person(browser: Browser, cabinet: str, email: str) -> Iterator[Page]:
    """Another person at their own computer: a fresh profile, logged in."""
    context = browser.new_context(locale="ru-RU", timezone_id=TIMEZONE,
                                  viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    try:
        log_in(opened, cabinet, email)
        yield opened
    except Exception:
        shot(opened, f"FAILED-{email}")
        raise
    finally:
        context.close()


def _build_segment(page: Page) -> str:
    """The supplier's segment, built in the rule builder while the count follows."""
    name = "Покупатели с приложением"
    page.get_by_role("menuitem", name="Сегменты").click()
    page.get_by_role("link", name="Создать").click()
    page.get_by_label("Название").fill(name)
    page.get_by_role("button", name="Добавить условие").click()
    choose_field(page, 0, "Пользуется приложением")
    count = page.get_by_test_id("estimate-count")
    expect(count).to_have_text(re.compile(r"^\d[\d\s]*$"))
    with_app = count.inner_text()
    assert int(digits(with_app)) >= 100
    # "not" an app user: the count changes as the rule does, and back.
    negate = page.get_by_test_id("rule-condition").first.get_by_label("не")
    negate.check()
    expect(count).not_to_have_text(with_app)
    negate.uncheck()
    expect(count).to_have_text(with_app)
    expect(page.get_by_test_id("estimate-below-minimum")).to_have_count(0)
    shot(page, "story-segment")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_test_id("rule-summary")).to_contain_text("Пользуется приложением")
    return name


def _record_bank_top_up(finance: Page, amount: str) -> None:
    """The finance officer enters the supplier's bank transfer from its payment document."""
    expect(finance.get_by_text("Балансы всех организаций")).to_be_visible()
    finance.get_by_role("menuitem", name="Пополнения").click()
    finance.get_by_role("link", name="Зачесть банковский перевод").click()
    finance.get_by_label("Организация").fill(SUPPLIER)
    finance.get_by_role("option", name=SUPPLIER, exact=True).click()
    finance.get_by_label("Сумма").fill(amount)
    finance.get_by_label("№ платёжного документа").fill("ПП-1")
    finance.get_by_label("Дата платёжного документа").fill(datetime.now().date().isoformat())
    finance.get_by_role("button", name="Сохранить").click()
    expect(finance.get_by_text("Пополнение зачтено")).to_be_visible()
    expect(finance.get_by_role("cell", name=re.compile(r"20\s000,00\s₽"))).to_be_visible()
    shot(finance, "story-finance-topup")


def _shopper_with_an_offer(campaign_id: int) -> str:
    """A shopper the launched campaign made an offer to (the app is asked for theirs)."""
    from marketplace_api.offers.models import Offer

    with session_scope() as db:
        shopper = db.scalar(select(Offer.customer_id).where(Offer.campaign_id == campaign_id)
                            .order_by(Offer.p_buy.desc().nulls_last(), Offer.customer_id)
                            .limit(1))
    assert shopper is not None, "the launch wrote no offers"
    return shopper


def _app_fetches_and_activates(api: httpx.Client, market: Market, shopper: str,
                               campaign_id: int) -> dict:
    """The mobile app: the shopper's offers (the serving index picks a launch up within
    its refresh period), then the shopper takes this campaign's offer."""
    offers: list[dict] = []
    deadline = datetime.now() + timedelta(seconds=15)
    while datetime.now() < deadline:
        answer = api.get(f"/app/shoppers/{shopper}/offers", headers=market.app_key)
        assert answer.status_code == 200, answer.text
        offers = [o for o in answer.json() if o["campaign_id"] == campaign_id]
        if offers:
            break
    assert offers, "the app was shown no offer of the launched campaign"
    offer = offers[0]
    assert offer["sku"] == market.sku and offer["label"] == "Скидка от поставщика"
    assert 1_000 <= offer["discount_bp"] <= 2_500  # within the supplier's AI range
    assert offer["personal_price_minor"] < offer["regular_price_minor"]
    taken = api.post(f"/app/shoppers/{shopper}/offers/{offer['offer_id']}/activate",
                     headers=market.app_key)
    assert taken.status_code == 200, taken.text
    return offer


def _checkout(api: httpx.Client, market: Market, shopper: str, offer: dict) -> int:
    """The till sends the receipt and gives the supplier discount; returns its amount."""
    receipt = api.post("/pos/receipts", headers=market.pos_key, json={
        "receipt_id": "STORY-1", "customer_id": shopper, "store_id": market.store_id,
        "ts": datetime.now(UTC).isoformat(),
        "lines": [{"sku": offer["sku"], "qty": 1, "price_minor": offer["regular_price_minor"]}]})
    assert receipt.status_code == 200, receipt.text
    line = receipt.json()["lines"][0]
    assert line["discounted_units"] == 1
    assert line["discount_minor"] == offer["regular_price_minor"] - offer["personal_price_minor"]
    return receipt.json()["discount_minor"]


def test_the_whole_story_from_a_segment_to_the_spend_in_the_report(cabinet, market, page,
                                                                    browser):
    today = datetime.now(ZoneInfo(get_settings().retail_timezone)).date()

    # The supplier builds the audience and watches its size.
    log_in(page, cabinet, MANAGER)
    expect(page.get_by_test_id("dashboard-balance")).to_have_text(_roubles(0))
    segment = _build_segment(page)

    # The wizard, step by step: an AI campaign with an allowed range of depths.
    page.get_by_role("menuitem", name="Кампании").click()
    page.get_by_role("link", name="Создать").click()
    page.get_by_label("Название").fill("Молочная неделя")
    # The combobox, not its open list of options (both carry the field's label).
    page.get_by_role("combobox", name="Сегмент").fill("Покупатели")
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
    page.get_by_label("ИИ в диапазоне").check()
    page.get_by_label("Минимальная скидка, %").fill("10")
    page.get_by_label("Максимальная скидка, %").fill("15")
    expect(page.get_by_label("больше штук")).to_be_checked()
    page.get_by_label("Бюджет").fill("5 000")
    # The region picker lists the retailer's regions with their store counts.
    page.get_by_role("combobox", name="Регионы").click()
    expect(page.get_by_role("option").first).to_contain_text(re.compile(r"\(магазинов: \d+\)"))
    page.keyboard.press("Escape")
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
    expect(page.get_by_text("ИИ в диапазоне")).to_be_visible()
    expect(page.get_by_test_id("offer-preview")).to_contain_text("Скидка от поставщика")
    expect(page.get_by_test_id("offer-preview")).to_contain_text("до 15 %, глубину подбирает ИИ")
    expect(page.get_by_test_id("timeline-step")).to_have_count(2)
    shot(page, "campaign-show-supplier")
    campaign_id = int(re.search(r"/campaigns/(\d+)/show", page.url).group(1))

    # The marketer: the queue, the forecast, and a rejection with a reason.
    with _person(browser, cabinet, MARKETER) as marketer:
        marketer.get_by_role("menuitem", name="Согласование").click()
        marketer.get_by_role("cell", name="Молочная неделя").click()
        marketer.get_by_role("tab", name="Прогноз").click()
        expect(marketer.get_by_test_id("forecast-chart")).to_be_visible()
        marketer.get_by_role("tab", name="Кампания").click()
        marketer.get_by_test_id("action-reject").click()
        marketer.get_by_test_id("reason").fill("Диапазон слишком узкий")
        marketer.get_by_test_id("confirm-action").click()
        expect(_status(marketer)).to_have_text("отклонена")

        # The supplier sees the reason, widens the range and submits again.
        page.reload()
        expect(page.get_by_test_id("rejection-reason")).to_contain_text("Диапазон слишком узкий")
        # Who did what: "you", and "the retailer" for its marketer, never their name.
        actors = page.get_by_test_id("timeline-actor")
        expect(actors).to_have_text(["вы", "вы", "сеть"])
        expect(page.get_by_test_id("timeline")).not_to_contain_text("marketer")
        page.get_by_role("link", name="Редактировать").click()
        _next(page)
        _next(page)
        page.get_by_label("Максимальная скидка, %").fill("25")
        _next(page)
        _next(page)
        page.get_by_test_id("wizard-submit").click()
        expect(_status(page)).to_have_text("на согласовании")
        expect(page.get_by_text("25 %", exact=True)).to_be_visible()

        marketer.get_by_role("menuitem", name="Согласование").click()
        marketer.get_by_role("cell", name="Молочная неделя").click()
        marketer.get_by_test_id("action-approve").click()
        expect(_status(marketer)).to_have_text("согласована")
        # The retailer's staff see the supplier's people by name.
        expect(marketer.get_by_test_id("timeline-actor").first).to_contain_text(SUPPLIER)
        shot(marketer, "campaign-approved-marketer")
        marketer.get_by_role("menuitem", name="Согласование").click()
        expect(marketer.get_by_test_id("approvals-empty")).to_be_visible()
        marketer.get_by_role("menuitem", name="Антифрод").click()
        expect(marketer.get_by_label("Статус")).to_contain_text("на проверке")
        marketer.get_by_role("menuitem", name="Журнал аудита").click()
        expect(marketer.get_by_role("cell", name="campaign", exact=True).first).to_be_visible()

    # Launching on an empty balance: a clear refusal, and the campaign stays unlaunched.
    page.reload()
    page.get_by_test_id("action-launch").click()
    page.get_by_test_id("confirm-action").click()
    refusal = page.get_by_test_id("action-error")
    expect(refusal).to_contain_text("На балансе не хватает денег")
    expect(refusal).to_contain_text(re.compile(r"5\s000,00\s₽"))
    shot(page, "campaign-launch-short-balance")
    page.get_by_role("button", name="Отмена").click()
    expect(_status(page)).to_have_text("согласована")
    expect(page.get_by_test_id("action-launch")).to_be_visible()
    page.get_by_role("tab", name="Отчёт").click()
    expect(page.get_by_test_id("report-spent")).to_have_text(_roubles(0))
    # Why there is no effect estimate yet, in the cabinet's language.
    expect(page.get_by_test_id("report-no-effect")).to_have_text(
        "Оценки эффекта пока нет: кампания ещё не запущена")
    page.get_by_role("tab", name="Кампания").click()

    # The finance officer records the supplier's bank transfer.
    with _person(browser, cabinet, FINANCE) as finance:
        _record_bank_top_up(finance, "20 000")

    # The supplier launches: the budget is set aside and the campaign is running.
    page.reload()
    page.get_by_test_id("action-launch").click()
    page.get_by_test_id("confirm-action").click()
    expect(_status(page)).to_have_text("идёт")
    expect(page.get_by_test_id("action-pause")).to_be_visible()

    # The shopper's app shows the personal offer; the checkout redeems it.
    with httpx.Client(base_url=f"{cabinet}{API}", timeout=30) as api:
        shopper = _shopper_with_an_offer(campaign_id)
        offer = _app_fetches_and_activates(api, market, shopper, campaign_id)
        spent = _checkout(api, market, shopper, offer)
    assert spent > 0

    # The supplier's report: the discount the checkout gave, out of the budget.
    page.reload()
    page.get_by_role("tab", name="Отчёт").click()
    expect(page.get_by_test_id("report-spent")).to_have_text(_roubles(spent))
    expect(page.get_by_test_id("report-budget-left")).to_have_text(_roubles(500_000 - spent))
    expect(page.get_by_test_id("report-spend-chart")).to_be_visible()
    # One redemption is fewer than the minimum audience size: hidden, not "no data".
    redemptions = page.get_by_test_id("report-redemptions-chart")
    expect(redemptions).not_to_contain_text("Пока нет данных")
    expect(page.get_by_test_id("report-redemptions-chart-hidden")).to_have_text(
        "Меньше 100 — скрыто ради приватности покупателей")
    shot(page, "campaign-report")
    page.goto(f"{cabinet}/#/")
    expect(page.get_by_test_id("dashboard-balance")).to_have_text(_roubles(2_000_000 - 500_000))
    shot(page, "story-supplier-dashboard")

    # The bell: every status change, newest first; opening one marks it read.
    bell = page.get_by_test_id("notification-bell")
    expect(bell).not_to_have_attribute("data-unread", "0")
    unread = int(bell.get_attribute("data-unread") or "0")
    bell.click()
    notes = page.get_by_test_id("notification")
    expect(notes.first).to_contain_text("идёт")
    expect(page.get_by_test_id("notification-list")).to_contain_text("Диапазон слишком узкий")
    shot(page, "notifications")
    notes.first.click()
    expect(bell).to_have_attribute("data-unread", str(unread - 1))

    # The audit log: the supplier's own changes, the campaign's among them.
    page.get_by_role("menuitem", name="Журнал аудита").click()
    page.get_by_label("Объект", exact=True).fill("campaign")
    expect(page.get_by_role("cell", name="campaign", exact=True).first).to_be_visible()
    shot(page, "supplier-audit")

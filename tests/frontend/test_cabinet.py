"""The web cabinet in a real browser against the real API on PostgreSQL: what a supplier,
a finance officer and anyone switching languages see on screen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from audience import service as audience
from tests import factories
from tests.audience.conftest import make_world
from tests.frontend.conftest import shot


@pytest.fixture
def world(cabinet):
    """The audience world (1,500 shoppers, 1,234 with the app, 95 cat owners), its features
    built, and the marketplace's users (password factories.PASSWORD)."""
    built = make_world()
    audience.forget_snapshot()
    return built


def log_in(page: Page, base: str, email: str, password: str = factories.PASSWORD) -> None:
    page.goto(f"{base}/#/login")
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("button[type=submit]").click()


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_a_supplier_builds_a_segment_and_watches_the_count(cabinet, world, page):
    log_in(page, cabinet, world.market.manager_a_email)
    expect(page.get_by_text("Добро пожаловать")).to_be_visible()
    expect(page.get_by_test_id("whoami")).to_contain_text("Molochny Dom")
    expect(page.get_by_test_id("dashboard-balance")).to_have_text(re.compile(r"^0,00\s₽$"))
    shot(page, "supplier-dashboard")

    page.get_by_role("menuitem", name="Сегменты").click()
    page.get_by_role("link", name="Создать").click()
    page.get_by_label("Название").fill("Пользователи приложения с кошкой")
    expect(page.get_by_text("Добавьте условие")).to_be_visible()

    # App users: the live count appears, rounded to tens for a supplier.
    page.get_by_role("button", name="Добавить условие").click()
    choose_field(page, 0, "Пользуется приложением")
    count = page.get_by_test_id("estimate-count")
    expect(count).to_have_text(re.compile(r"1\s?230"))
    expect(page.get_by_test_id("estimate")).to_contain_text("По регионам")
    expect(page.get_by_test_id("estimate-below-minimum")).to_have_count(0)
    shot(page, "segment-builder")

    # …who own a cat: 95 shoppers, below the minimum, so only "< 100" and a warning.
    page.get_by_role("button", name="Добавить условие").click()
    choose_field(page, 1, "Владелец кошки")
    expect(count).to_have_text("< 100")
    expect(page.get_by_test_id("estimate-below-minimum")).to_contain_text("Меньше 100 покупателей")

    # "not" a cat owner: the count grows back above the minimum.
    page.get_by_test_id("rule-condition").nth(1).get_by_label("не").check()
    expect(count).to_have_text(re.compile(r"1\s?140"))
    page.get_by_test_id("rule-condition").nth(1).get_by_label("не").uncheck()
    expect(count).to_have_text("< 100")
    shot(page, "segment-below-minimum")

    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_test_id("rule-summary")).to_contain_text("Владелец кошки")
    expect(page.locator(".MuiChip-label", has_text="< 100")).to_be_visible()


def choose_field(page: Page, index: int, label: str) -> None:
    field = page.get_by_test_id("condition-field").nth(index)
    field.click()
    field.fill(label)
    page.get_by_role("option", name=label, exact=True).click()


def test_a_bank_top_up_reaches_the_suppliers_balance(cabinet, world, page, browser):
    log_in(page, cabinet, "finance@retailer.test")
    expect(page.get_by_text("Балансы всех организаций")).to_be_visible()
    page.get_by_role("menuitem", name="Пополнения").click()
    page.get_by_role("link", name="Зачесть банковский перевод").click()

    page.get_by_label("Организация").fill("Molochny")
    page.get_by_role("option", name="Molochny Dom").click()
    amount = page.get_by_label("Сумма")
    amount.fill("1500,505")
    page.get_by_label("№ платёжного документа").fill("ПП-17")
    page.get_by_label("Дата платёжного документа").fill("2026-03-02")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Введите сумму в рублях")).to_be_visible()

    amount.fill("1 500,50")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Пополнение зачтено")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(r"1\s500,50\s₽"))).to_be_visible()
    expect(page.get_by_role("cell", name="зачислено")).to_be_visible()
    shot(page, "finance-topups")

    supplier = browser.new_context(locale="ru-RU", timezone_id="Asia/Yekaterinburg")
    try:
        other = supplier.new_page()
        log_in(other, cabinet, world.market.manager_a_email)
        expect(other.get_by_test_id("dashboard-balance")).to_have_text(re.compile(r"^1\s500,50\s₽$"))
        other.get_by_role("menuitem", name="Баланс").click()
        expect(other.get_by_test_id("balance-available")).to_have_text(re.compile(r"1\s500,50\s₽"))
        expect(other.get_by_test_id("bank-instructions")).to_contain_text("Molochny Dom")
        expect(other.get_by_role("cell", name="пополнение")).to_be_visible()
        shot(other, "supplier-balance")
        with other.expect_download() as download:
            other.get_by_role("button", name="Скачать CSV").click()
        statement = Path(download.value.path()).read_text(encoding="utf-8")
        assert "1500.50" in statement
    finally:
        supplier.close()


def test_languages_wrong_password_and_a_forbidden_page(cabinet, world, page):
    log_in(page, cabinet, world.market.manager_a_email, password="not-the-password")
    expect(page.get_by_text("Неверный email или пароль")).to_be_visible()

    log_in(page, cabinet, world.market.manager_a_email)
    expect(page.get_by_role("menuitem", name="Сегменты")).to_be_visible()
    page.get_by_role("button", name="Русский").click()
    page.get_by_role("menuitem", name="English").click()
    expect(page.get_by_role("menuitem", name="Segments")).to_be_visible()
    expect(page.get_by_text("Welcome")).to_be_visible()
    expect(page.get_by_test_id("dashboard-balance")).to_have_text(re.compile(r"0\.00"))
    shot(page, "supplier-dashboard-en")

    # A supplier opening the marketer's guardrails sees a clear refusal, not a blank page.
    page.goto(f"{cabinet}/#/guardrails")
    expect(page.get_by_text("Access denied")).to_be_visible()

    page.get_by_role("button", name="English").click()
    page.get_by_role("menuitem", name="Русский").click()
    expect(page.get_by_role("menuitem", name="Сегменты")).to_be_visible()


def test_a_marketer_sets_a_guardrail_and_sees_the_servers_complaint_by_the_field(cabinet, page):
    factories.marketplace()
    log_in(page, cabinet, "marketer@retailer.test")
    page.get_by_role("menuitem", name="Ограничения цен").click()
    page.get_by_role("link", name="Создать").click()
    page.get_by_label("Действует для").click()
    page.get_by_role("option", name="категории").click()
    page.get_by_label("Артикул или категория").fill("Dairy")
    page.get_by_label("Минимальная цена").fill("49,90")
    discount = page.get_by_label("Максимальная скидка, %")
    discount.fill("150")  # more than 100 %: the API refuses, and says so under the field
    page.get_by_role("button", name="Сохранить").click()
    complaint = page.locator(".MuiFormHelperText-root.Mui-error")
    expect(complaint).to_contain_text("10000")

    discount.fill("15")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_role("cell", name="Dairy")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(r"49,90\s₽"))).to_be_visible()
    expect(page.get_by_role("cell", name="15 %")).to_be_visible()
    shot(page, "marketer-guardrails")

    page.get_by_role("menuitem", name="Организации").click()
    expect(page.get_by_role("cell", name="Molochny Dom")).to_be_visible()
    page.get_by_role("cell", name="Chai Brothers").click()
    expect(page.get_by_role("cell", name="manager@sup-b.test")).to_be_visible()
    shot(page, "marketer-organisation")

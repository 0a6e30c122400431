"""Complete Journey through the importer, on SQLite and PostgreSQL, from the test slice in
tests/fixtures/completejourney (its README says how the expected counts arise)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from core.db import get_engine
from marketplace_api.cli import app as vitrina
from retail.errors import ImportDataError
from retail.importing import import_folder

FIXTURE = Path(__file__).parents[1] / "fixtures" / "completejourney"


def query(sql: str) -> list[tuple]:
    with get_engine().connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql))]


@pytest.fixture
def journey(tmp_path) -> Path:
    """A writable copy of the slice (the rejects file goes beside it)."""
    folder = tmp_path / "completejourney"
    shutil.copytree(FIXTURE, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return folder


def test_the_slice_imports_with_returns_and_the_garbled_basket_rejected(any_db, journey):
    report = import_folder(folder=journey, fmt="completejourney", skip_bad_rows=True)

    assert [(t.table, t.inserted, t.rejected) for t in report.tables] == [
        ("suppliers", 1020, 0), ("stores", 140, 0), ("products", 5859, 0),
        ("customers", 300, 0), ("receipts", 9788, 77)]
    assert dict(report.rejects) == {"return": 75, "garbled_basket_id": 1, "unknown_product": 1}
    assert query("SELECT count(*) FROM retail_receipt_line") == [(9788,)]
    assert query("SELECT count(*) FROM retail_customer WHERE birth_year IS NOT NULL") == [
        (123,)]
    # Product 873902 sold five times at a shelf price of 2.49, 2.49, 2.99, 2.49 and 2.49
    # (paid plus loyalty and coupon discounts): its regular price is the median, in cents.
    assert query("SELECT regular_price_minor, currency, brand, category, supplier_id "
                 "FROM retail_product WHERE sku = '873902'") == [
        (249, "USD", "National", "BAKED BREAD/BUNS/ROLLS", "1273")]
    # The first line of the file: paid 1.59, loyalty discount 0.90.
    assert query("SELECT customer_id, store_id, paid_amount_minor, discount_amount_minor, "
                 "promo_flag, currency FROM retail_receipt_line WHERE receipt_id = "
                 "'32053127496' AND sku = '873902'") == [("2131", "368", 159, 90, True, "USD")]

    with report.rejects_path.open(encoding="utf-8") as handle:
        rejects = {row["reason"]: row for row in csv.DictReader(handle)}
    garbled = rejects["garbled_basket_id"]
    assert (garbled["file"], garbled["row"], garbled["column"], garbled["value"]) == (
        "transactions_sample.parquet", "5007", "basket_id", "4.0128e+10")
    assert garbled["basket_id"] == "4.0128e+10" and garbled["household_id"]
    assert rejects["unknown_product"]["product_id"] == "1093587"


def test_reimporting_the_slice_changes_nothing(any_db, journey):
    import_folder(folder=journey, fmt="completejourney", skip_bad_rows=True)

    again = import_folder(folder=journey, fmt="completejourney", skip_bad_rows=True)

    assert [(t.inserted, t.updated) for t in again.tables] == [(0, 0)] * 5
    assert again.table("receipts").unchanged == 9788


def test_without_skipping_the_first_return_stops_the_import(any_db, journey):
    with pytest.raises(ImportDataError) as caught:
        import_folder(folder=journey, fmt="completejourney")

    error = caught.value
    assert (error.file, error.row, error.reason) == ("transactions_sample.parquet", 4,
                                                       "return")
    assert error.column in ("quantity", "sales_value")
    assert error.message.startswith("transactions_sample.parquet, row 4 (counting from 1), "
                                    f"column {error.column}: ")
    assert query("SELECT count(*) FROM retail_product") == [(0,)]


def test_the_command_reports_counts_and_reasons(sqlite_db, journey):
    result = CliRunner().invoke(vitrina, ["import", str(journey), "--format",
                                          "completejourney", "--skip-bad-rows"])

    assert result.exit_code == 0, result.output
    assert "garbled_basket_id" in result.stdout and "return" in result.stdout
    assert "9,788" in result.stdout


def test_a_folder_without_transactions_is_not_complete_journey(sqlite_db, tmp_path):
    with pytest.raises(ImportDataError, match="not a Complete Journey folder"):
        import_folder(folder=tmp_path, fmt="completejourney")

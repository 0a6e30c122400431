"""The importer of the retailer's files, on SQLite and PostgreSQL: what lands in the tables,
what a re-import changes, and how bad rows are refused (or skipped) with their place."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.db import get_engine
from marketplace_api.cli import app as vitrina
from retail.errors import ImportDataError
from retail.importing import import_folder
from retail.models import Customer, ReceiptLine

GOOD = {
    "suppliers": """supplier_id,name,inn
SUP1,Молочный завод,7701234567
SUP2,Хлебозавод,
""",
    "stores": """store_id,name,region,city,format
S1,Магазин на Тверской,Москва,Москва,hyper
S2,Магазин у дома,,,
""",
    "products": '''sku,name,supplier_id,category,regular_price,brand,cost_price,pack_size,shelf_note
P1,Молоко 3.2% 1 л,SUP1,dairy,89.90,Домик в деревне,61.20,1 л,ignored
P2,"Хлеб ""Бородинский"", нарезка",SUP2,bread,45,,,,ignored
P3,Кефир,SUP1,dairy,"79,50",,,,
''',
    "customers": """customer_id,birth_year,gender,region,loyalty_tier,has_app,registered_at
C1,1985,f,Москва,gold,yes,2023-01-15T12:00:00
C2,,,,,No,
""",
    "receipts": """receipt_id,customer_id,store_id,ts,sku,qty,paid_amount,discount_amount,promo_flag
R1,C1,S1,2024-03-01T10:15:00,P1,2,179.80,0,false
R1,C1,S1,2024-03-01T10:15:00,P2,1,40.50,4.50,yes
R2,,S2,2024-03-02T08:00:00+00:00,P1,1.5,134.85,,
R3,C2,S1,2024-03-03 19:30,P3,1,79.50,,0
""",
}
TABLES = {"suppliers": "retail_supplier", "stores": "retail_store",
          "products": "retail_product", "customers": "retail_customer",
          "receipts": "retail_receipt_line"}


def rows_of(table: str, files: dict[str, str] | None = None) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((files or GOOD)[table])))


def as_csv(rows: list[dict[str, str]], columns: list[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or list(rows[0]), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def folder_with(tmp_path: Path, files: dict[str, str], name: str = "import") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for table, content in files.items():
        (folder / f"{table}.csv").write_text(content, encoding="utf-8")
    return folder


def changed(table: str, row: int, **values: str) -> dict[str, str]:
    """The good files with data row `row` (1-based) of `table` given other values."""
    rows = rows_of(table)
    rows[row - 1].update(values)
    return {**GOOD, table: as_csv(rows)}


def snapshot() -> dict[str, list[tuple]]:
    with get_engine().connect() as connection:
        return {table: sorted(tuple(r) for r in connection.execute(text(f"SELECT * FROM {t}")))
                for table, t in TABLES.items()}


def query(sql: str, **params) -> list:
    with get_engine().connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql), params)]


# --- a good import --------------------------------------------------------------------------


def test_good_import_stores_every_row_with_money_in_kopecks_and_time_in_utc(any_db, tmp_path):
    report = import_folder(folder=folder_with(tmp_path, GOOD))

    assert [(t.table, t.read, t.inserted) for t in report.tables] == [
        ("suppliers", 2, 2), ("stores", 2, 2), ("products", 3, 3), ("customers", 2, 2),
        ("receipts", 4, 4)]
    assert query("SELECT sku, name, supplier_id, regular_price_minor, cost_price_minor, "
                 "currency, brand, pack_size FROM retail_product ORDER BY sku") == [
        ("P1", "Молоко 3.2% 1 л", "SUP1", 8990, 6120, "RUB", "Домик в деревне", "1 л"),
        ("P2", 'Хлеб "Бородинский", нарезка', "SUP2", 4500, None, "RUB", None, None),
        ("P3", "Кефир", "SUP1", 7950, None, "RUB", None, None)]
    lines = query("SELECT receipt_id, sku, customer_id, store_id, qty, paid_amount_minor, "
                  "discount_amount_minor, promo_flag, currency FROM retail_receipt_line "
                  "ORDER BY receipt_id, sku")
    assert lines == [("R1", "P1", "C1", "S1", 2.0, 17980, 0, False, "RUB"),
                     ("R1", "P2", "C1", "S1", 1.0, 4050, 450, True, "RUB"),
                     ("R2", "P1", None, "S2", 1.5, 13485, 0, False, "RUB"),
                     ("R3", "P3", "C2", "S1", 1.0, 7950, 0, False, "RUB")]
    with Session(get_engine()) as session:
        sold_at = {(line.receipt_id, line.sku): line.sold_at
                   for line in session.scalars(select(ReceiptLine))}
        customers = {c.customer_id: c for c in session.scalars(select(Customer))}
    # Without an offset the time is Moscow's (UTC+3); with one, it is taken as given.
    assert sold_at[("R1", "P1")] == datetime(2024, 3, 1, 7, 15, tzinfo=UTC)
    assert sold_at[("R2", "P1")] == datetime(2024, 3, 2, 8, 0, tzinfo=UTC)
    assert sold_at[("R3", "P3")] == datetime(2024, 3, 3, 16, 30, tzinfo=UTC)
    assert (customers["C1"].birth_year, customers["C1"].has_app,
            customers["C1"].registered_at) == (1985, True,
                                               datetime(2023, 1, 15, 9, 0, tzinfo=UTC))
    assert (customers["C2"].birth_year, customers["C2"].has_app) == (None, False)
    # A bulk load may drop the key and indexes of the receipt lines; they are back.
    schema = inspect(get_engine())
    assert schema.get_pk_constraint("retail_receipt_line")["constrained_columns"] == [
        "sold_at", "receipt_id", "sku"]
    assert [i["name"] for i in schema.get_indexes("retail_receipt_line")] == [
        "ix_retail_receipt_line_customer_id_sold_at"]


def test_parquet_files_with_decimal_float_and_timestamp_columns(any_db, tmp_path):
    folder = folder_with(tmp_path, {k: v for k, v in GOOD.items() if k != "receipts"})
    (folder / "products.csv").unlink()
    pq.write_table(pa.table({
        "sku": ["P1", "P2", "P3"], "name": ["Молоко", "Хлеб", "Кефир"],
        "supplier_id": ["SUP1", "SUP2", "SUP1"], "category": ["dairy", "bread", "dairy"],
        "regular_price": pa.array([Decimal("89.90"), Decimal("45"), Decimal("79.5")],
                                  pa.decimal128(10, 2)),
        "cost_price": pa.array([61.2, None, 0.1 + 0.2]),  # float noise within a kopeck
    }), folder / "products.parquet")
    pq.write_table(pa.table({
        "receipt_id": ["R1", "R1"], "customer_id": ["C1", None], "store_id": [1, 2],
        "ts": pa.array([datetime(2024, 3, 1, 10, 15), datetime(2024, 3, 1, 10, 15)],
                       pa.timestamp("us")),
        "sku": ["P1", "P2"], "qty": [2, 1], "paid_amount": pa.array([180, 40], pa.int64()),
        "promo_flag": [False, True],
    }), folder / "receipts.parquet")
    (folder / "stores.csv").write_text("store_id,name\n1,Один\n2,Два\n", encoding="utf-8")

    report = import_folder(folder=folder)

    assert report.table("receipts").inserted == 2
    assert query("SELECT sku, regular_price_minor, cost_price_minor FROM retail_product "
                 "ORDER BY sku") == [("P1", 8990, 6120), ("P2", 4500, None), ("P3", 7950, 30)]
    assert query("SELECT sku, store_id, paid_amount_minor, promo_flag FROM "
                 "retail_receipt_line ORDER BY sku") == [("P1", "1", 18000, False),
                                                          ("P2", "2", 4000, True)]


def test_a_float_amount_with_a_third_decimal_is_refused(any_db, tmp_path):
    folder = folder_with(tmp_path, {k: GOOD[k] for k in ("suppliers", "stores")})
    pq.write_table(pa.table({"sku": ["P1", "P2"], "name": ["a", "b"],
                             "supplier_id": ["SUP1", "SUP1"], "category": ["c", "c"],
                             "regular_price": [1.25, 1.255]}), folder / "products.parquet")

    with pytest.raises(ImportDataError) as caught:
        import_folder(folder=folder)

    assert (caught.value.file, caught.value.row, caught.value.column) == (
        "products.parquet", 2, "regular_price")
    assert "1.255" in caught.value.message
    assert snapshot()["products"] == []


def test_semicolon_separated_csv_with_a_bom(any_db, tmp_path):
    folder = tmp_path / "excel"
    folder.mkdir()
    (folder / "suppliers.csv").write_bytes(
        "\ufeffsupplier_id;name\nSUP1;Завод\n".encode())

    report = import_folder(folder=folder)

    assert report.table("suppliers").inserted == 1
    assert query("SELECT supplier_id, name FROM retail_supplier") == [("SUP1", "Завод")]


# --- re-import ------------------------------------------------------------------------------


def test_reimporting_the_same_files_changes_nothing(any_db, tmp_path):
    folder = folder_with(tmp_path, GOOD)
    import_folder(folder=folder)
    before = snapshot()

    again = import_folder(folder=folder)

    assert snapshot() == before
    assert [(t.inserted, t.updated, t.unchanged) for t in again.tables] == [
        (0, 0, 2), (0, 0, 2), (0, 0, 3), (0, 0, 2), (0, 0, 4)]


def test_reimport_updates_changed_values_and_adds_new_rows(any_db, tmp_path):
    import_folder(folder=folder_with(tmp_path, GOOD, "first"))
    products = rows_of("products")
    products[0]["regular_price"] = "99.90"
    receipts = rows_of("receipts")
    receipts[1]["qty"] = "3"                    # R1/P2: another quantity
    receipts[2]["ts"] = "2024-03-02T09:00:00Z"  # R2/P1: another time (part of the table key)
    receipts.append({**receipts[0], "receipt_id": "R4"})
    files = {**GOOD, "products": as_csv(products), "receipts": as_csv(receipts)}

    report = import_folder(folder=folder_with(tmp_path, files, "second"))

    assert [(t.table, t.inserted, t.updated, t.unchanged) for t in report.tables[2:]] == [
        ("products", 0, 1, 2), ("customers", 0, 0, 2), ("receipts", 1, 2, 2)]
    assert query("SELECT regular_price_minor FROM retail_product WHERE sku = 'P1'") == [
        (9990,)]
    assert query("SELECT receipt_id, sku, qty FROM retail_receipt_line "
                 "ORDER BY receipt_id, sku") == [("R1", "P1", 2.0), ("R1", "P2", 3.0),
                                                 ("R2", "P1", 1.5), ("R3", "P3", 1.0),
                                                 ("R4", "P1", 2.0)]
    assert query("SELECT count(*) FROM retail_receipt_line WHERE receipt_id = 'R2'") == [(1,)]


def test_an_increment_of_receipts_alone_uses_what_the_database_has(any_db, tmp_path):
    import_folder(folder=folder_with(tmp_path, GOOD, "first"))
    increment = as_csv([{**rows_of("receipts")[0], "receipt_id": "R9"}])

    report = import_folder(folder=folder_with(tmp_path, {"receipts": increment}, "day"))

    assert [(t.table, t.inserted) for t in report.tables] == [("receipts", 1)]
    assert query("SELECT count(*) FROM retail_receipt_line") == [(5,)]


# --- bad input: stop, name the place, keep nothing --------------------------------------------

BAD = [
    pytest.param(lambda: changed("products", 2, regular_price="abc"), "products.csv", 2,
                 "regular_price", "'abc' is not a decimal amount", id="non-numeric price"),
    pytest.param(lambda: changed("products", 1, regular_price="89.905"), "products.csv", 1,
                 "regular_price", "has more than 2 decimals", id="sub-kopeck price"),
    pytest.param(lambda: changed("receipts", 3, store_id="S9"), "receipts.csv", 3,
                 "store_id", "store 'S9' is neither", id="unknown store"),
    pytest.param(lambda: changed("receipts", 2, sku="P404"), "receipts.csv", 2, "sku",
                 "product 'P404' is neither", id="unknown sku"),
    pytest.param(lambda: changed("receipts", 4, customer_id="C404"), "receipts.csv", 4,
                 "customer_id", "customer 'C404' is neither", id="unknown customer"),
    pytest.param(lambda: changed("products", 3, supplier_id="SUP9"), "products.csv", 3,
                 "supplier_id", "supplier 'SUP9' is neither", id="unknown supplier"),
    pytest.param(lambda: changed("receipts", 4, receipt_id="R1", sku="P2"), "receipts.csv", 4,
                 "receipt_id, sku", "first at data row 2 (spreadsheet row 3)",
                 id="duplicate receipt line"),
    pytest.param(lambda: changed("receipts", 2, qty="-1"), "receipts.csv", 2, "qty",
                 "'-1' is not a positive quantity", id="negative qty"),
    pytest.param(lambda: changed("receipts", 1, paid_amount="-179.80"), "receipts.csv", 1,
                 "paid_amount", "'-179.80' is negative", id="negative amount"),
    pytest.param(lambda: changed("products", 2, cost_price="-1"), "products.csv", 2,
                 "cost_price", "'-1' is negative", id="negative cost"),
    pytest.param(lambda: changed("receipts", 3, ts="2024-02-30T10:00:00"), "receipts.csv", 3,
                 "ts", "'2024-02-30T10:00:00' is not an ISO 8601 timestamp",
                 id="unparseable ts"),
    pytest.param(lambda: changed("receipts", 1, ts="yesterday"), "receipts.csv", 1, "ts",
                 "'yesterday' is not an ISO 8601 timestamp", id="ts in words"),
    pytest.param(lambda: changed("stores", 2, name=""), "stores.csv", 2, "name",
                 "empty, but a value is required", id="empty required value"),
    pytest.param(lambda: changed("receipts", 3, promo_flag="maybe"), "receipts.csv", 3,
                 "promo_flag", "'maybe' is not a yes/no value", id="bad boolean"),
    pytest.param(lambda: changed("stores", 1, store_id="S" * 65), "stores.csv", 1,
                 "store_id", "longer than 64 characters", id="id too long"),
    pytest.param(lambda: {**GOOD, "receipts": as_csv(rows_of("receipts"), [
        "receipt_id", "customer_id", "store_id", "ts", "sku", "qty"])}, "receipts.csv", None,
        "paid_amount", "header: required column paid_amount is missing",
        id="missing required column"),
]


@pytest.mark.parametrize(("files", "file", "row", "column", "words"), BAD)
def test_bad_input_names_file_row_and_column_and_imports_nothing(any_db, tmp_path, files,
                                                                  file, row, column, words):
    with pytest.raises(ImportDataError) as caught:
        import_folder(folder=folder_with(tmp_path, files()))

    error = caught.value
    assert (error.file, error.row, error.column) == (file, row, column)
    assert words in error.message
    if row is not None:
        assert error.message.startswith(
            f"{file}, data row {row} (spreadsheet row {row + 1}), column")
    # The tables imported before the bad one are rolled back too.
    assert snapshot() == {table: [] for table in TABLES}


def test_a_bad_reimport_leaves_the_previous_import_as_it_was(any_db, tmp_path):
    import_folder(folder=folder_with(tmp_path, GOOD, "first"))
    before = snapshot()
    receipts = rows_of("receipts")
    receipts[0]["paid_amount"] = "1.00"          # a change that must not survive
    receipts[3]["store_id"] = "S404"
    files = {**changed("products", 1, regular_price="1.00"), "receipts": as_csv(receipts)}

    with pytest.raises(ImportDataError, match=re.escape("receipts.csv, data row 4")):
        import_folder(folder=folder_with(tmp_path, files, "second"))

    assert snapshot() == before


def test_receipts_without_stores_anywhere_is_a_clear_error(any_db, tmp_path):
    files = {k: v for k, v in GOOD.items() if k != "stores"}

    with pytest.raises(ImportDataError, match=re.escape(
            "no stores.csv or stores.parquet and the database has no stores yet")):
        import_folder(folder=folder_with(tmp_path, files))

    assert snapshot() == {table: [] for table in TABLES}


def test_both_csv_and_parquet_of_a_table_is_ambiguous(sqlite_db, tmp_path):
    folder = folder_with(tmp_path, {"suppliers": GOOD["suppliers"]})
    pq.write_table(pa.table({"supplier_id": ["X"], "name": ["x"]}),
                   folder / "suppliers.parquet")

    with pytest.raises(ImportDataError,
                       match=re.escape("both suppliers.csv and suppliers.parquet")):
        import_folder(folder=folder)


def test_a_row_with_too_many_values_is_named(sqlite_db, tmp_path):
    folder = folder_with(tmp_path, {"suppliers": "supplier_id,name\nS1,a\n\nS2,b,c\n"})

    with pytest.raises(ImportDataError) as caught:
        import_folder(folder=folder, skip_bad_rows=True)

    assert caught.value.row == 2
    assert caught.value.message == ("suppliers.csv, data row 2 (spreadsheet row 3): 3 values "
                                    "where the header has 2 columns")


def test_a_file_that_is_not_utf8_is_named_with_its_row(sqlite_db, tmp_path):
    folder = tmp_path / "cp1251"
    folder.mkdir()
    (folder / "suppliers.csv").write_bytes("supplier_id,name\nS1,a\nS2,Завод\n".encode("cp1251"))

    with pytest.raises(ImportDataError, match=re.escape(
            "suppliers.csv, data row 2 (spreadsheet row 3): not UTF-8 text")):
        import_folder(folder=folder)


# --- skip bad rows --------------------------------------------------------------------------


def test_skip_bad_rows_imports_the_rest_and_lists_the_rejects(any_db, tmp_path):
    receipts = rows_of("receipts")
    receipts[0]["paid_amount"] = "abc"                     # row 1
    receipts[2]["store_id"] = "S9"                         # row 3
    receipts.append({**receipts[1]})                       # row 5 repeats row 2
    receipts.append({**receipts[3], "receipt_id": "R5", "ts": "soon"})  # row 6
    files = {**changed("products", 3, regular_price="-5"), "receipts": as_csv(receipts)}
    folder = folder_with(tmp_path, files)

    report = import_folder(folder=folder, skip_bad_rows=True)

    # P3's rejection takes R3's line (row 4) with it: its sku is then unknown.
    assert dict(report.rejects) == {"bad_amount": 1, "unknown_store": 1, "duplicate_key": 1,
                                    "bad_timestamp": 1, "negative_amount": 1,
                                    "unknown_product": 1}
    assert report.table("products").inserted == 2
    assert report.table("receipts").inserted == 1
    assert query("SELECT receipt_id, sku FROM retail_receipt_line") == [("R1", "P2")]
    assert report.rejects_path == folder / "rejects.csv"
    with report.rejects_path.open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [(r["file"], r["row"], r["column"], r["reason"], r["value"]) for r in rejects] == [
        ("products.csv", "3", "regular_price", "negative_amount", "-5"),
        ("receipts.csv", "1", "paid_amount", "bad_amount", "abc"),
        ("receipts.csv", "3", "store_id", "unknown_store", "S9"),
        ("receipts.csv", "4", "sku", "unknown_product", "P3"),
        ("receipts.csv", "5", "receipt_id, sku", "duplicate_key", "R1 / P2"),
        ("receipts.csv", "6", "ts", "bad_timestamp", "soon"),
    ]
    # The rejected row's own values follow, as they were in the file.
    assert rejects[1]["receipt_id"] == "R1" and rejects[1]["paid_amount"] == "abc"
    assert rejects[0]["name"] == "Кефир"
    assert "first at data row 2" in rejects[4]["detail"]


def test_skip_bad_rows_writes_the_rejects_where_asked(sqlite_db, tmp_path):
    rejects = tmp_path / "out" / "bad.csv"

    report = import_folder(folder=folder_with(tmp_path, changed("stores", 1, name="")),
                           skip_bad_rows=True, rejects_path=rejects)

    assert report.rejects_path == rejects
    assert "missing_value" in rejects.read_text(encoding="utf-8")
    assert not (tmp_path / "import" / "rejects.csv").exists()


# --- the command ----------------------------------------------------------------------------


def test_the_command_prints_counts_per_table(any_db, tmp_path):
    result = CliRunner().invoke(vitrina, ["import", str(folder_with(tmp_path, GOOD))])

    assert result.exit_code == 0, result.output
    assert "receipts" in result.stdout and "inserted         4" in result.stdout


def test_the_command_fails_with_the_place_of_the_bad_value(any_db, tmp_path):
    folder = folder_with(tmp_path, changed("receipts", 3, paid_amount="abc"))

    result = CliRunner().invoke(vitrina, ["import", str(folder)])

    assert result.exit_code == 1
    assert ("receipts.csv, data row 3 (spreadsheet row 4), column paid_amount: 'abc' is not "
            "a decimal amount") in result.stderr
    assert snapshot() == {table: [] for table in TABLES}


def test_the_command_counts_rejects_by_reason(any_db, tmp_path):
    folder = folder_with(tmp_path, changed("receipts", 3, store_id="S9"))

    result = CliRunner().invoke(vitrina, ["import", str(folder), "--skip-bad-rows"])

    assert result.exit_code == 0, result.output
    assert "unknown_store" in result.stdout
    assert str(folder / "rejects.csv") in result.stdout

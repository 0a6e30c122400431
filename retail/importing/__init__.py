"""The importer of the retailer's data: the CSV/Parquet contract, and Complete Journey.

    from retail.importing import import_folder
    report = import_folder(folder=Path("drop/2024-03"), skip_bad_rows=False)

One call imports a folder in one database transaction: suppliers, stores, products,
customers, receipts (each `<table>.csv` or `<table>.parquet`; a table may be absent when
the database already has its rows). Bad input raises `retail.errors.ImportDataError`
naming file, row, column and value, and nothing of the import is kept; with
`skip_bad_rows=True` the bad rows are left out and listed in a rejects CSV (file, row,
column, reason, value, detail, then the row's own values).

Rows are counted as a spreadsheet user would: "data row 17 (spreadsheet row 18)" is the
17th row under the header of a CSV; Parquet rows count from 1.

Reasons (stable codes, counted under --skip-bad-rows):
  missing_value        a required value is empty
  too_long             longer than its column holds (ids: 64 characters)
  bad_id               a number with decimals where an id is expected
  bad_amount           not a decimal amount, or more than 2 decimals
  negative_amount      prices, costs, paid and discount amounts are never negative
  bad_quantity         qty is not a number
  non_positive_quantity  qty ≤ 0 (returns are not imported)
  bad_timestamp        not ISO 8601
  bad_boolean          not true/false/1/0/yes/no
  bad_year             birth_year not a year from 1900 to now
  unknown_supplier, unknown_store, unknown_product, unknown_customer
                       names a row that neither the import nor the database has
  duplicate_key        the same key (receipt lines: receipt_id and sku) again; the first
                       row is kept
  return, garbled_basket_id   Complete Journey only (see retail/completejourney.py)
Problems with a whole file (missing column or file, not CSV, not UTF-8) stop the import
even with skip_bad_rows.

How it is fast: `sources` streams chunks, `parsing` checks whole columns with Arrow
kernels, `keys` hashes keys to spot duplicates without a query, `staging` loads by binary
COPY (`pgcopy`) and checks and writes with set-based SQL.
"""

from retail.importing.service import FORMAT_NAMES, ImportReport, TableReport, import_folder

__all__ = ["FORMAT_NAMES", "ImportReport", "TableReport", "import_folder"]

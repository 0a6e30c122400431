"""Where the rows of an import come from: the contract's CSV and Parquet files, streamed.

A source yields chunks of raw Arrow columns named as in the contract, with the 1-based
row number each row has in its file, so that every message can point at the row. Adapters
for other formats (Complete Journey) are sources too.
"""

from __future__ import annotations

import csv
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from retail.errors import ImportDataError
from retail.importing.contract import TABLES, TableSpec

CSV_BLOCK_BYTES = 32 << 20
PARQUET_BATCH_ROWS = 500_000


@dataclass(slots=True)
class Problem:
    """Rows of a chunk that break one rule: `explain(value)` says how, e.g. "'abc' is not
    a decimal amount"."""

    mask: np.ndarray             # bool, one per row of the chunk
    column: str                  # the column as the file names it
    reason: str                  # stable code, counted under --skip-bad-rows
    explain: Callable[[str], str]
    values: pa.Array | None = None  # what to quote; the column's own values when None


@dataclass(slots=True)
class Chunk:
    columns: dict[str, pa.Array]  # contract column -> raw values (any Arrow type)
    rows: np.ndarray              # int64, the 1-based row of each value in its file
    progress: int = 0             # units of the source's progress total consumed
    problems: list[Problem] = field(default_factory=list)  # found by an adapter

    def __len__(self) -> int:
        return len(self.rows)


class TableSource(ABC):
    """The rows of one contract table."""

    spec: TableSpec
    file: str                     # how messages name the file
    currency: str | None = None   # the currency of its amounts; the settings' when None

    @property
    @abstractmethod
    def columns(self) -> list[str]:
        """The contract columns present (required ones missing are reported by name)."""

    @abstractmethod
    def chunks(self) -> Iterator[Chunk]: ...

    @abstractmethod
    def original_rows(self, rows: np.ndarray) -> pa.Table:
        """The file's own values (as text) of the given rows, with a `row` column."""

    def progress_total(self) -> tuple[int | None, str]:
        return None, "rows"

    def file_column(self, column: str) -> str:
        """The name the file gives to a contract column (adapters rename)."""
        return column

    def row_label(self, row: int) -> str:
        return f"row {row} (counting from 1)"

    def where(self, row: int | None, column: str | None) -> str:
        place = self.file if row is None else f"{self.file}, {self.row_label(row)}"
        return f"{place}, column {column}" if column else place


def _as_text(array: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_string(array.type):
        return array
    return pc.cast(array, pa.string())


def pick_rows(batches: Iterator[pa.RecordBatch], rows: np.ndarray) -> pa.Table:
    """The given rows (1-based, sorted) from a stream of batches, as text."""
    picked = []
    start = 0
    for batch in batches:
        end = start + batch.num_rows
        lo, hi = np.searchsorted(rows, [start + 1, end + 1])
        if hi > lo:
            index = pa.array(rows[lo:hi] - 1 - start)
            taken = batch.take(index)
            columns = {name: _as_text(col) for name, col in zip(taken.schema.names,
                                                                 taken.columns, strict=True)}
            picked.append(pa.table({"row": pa.array(rows[lo:hi]), **columns}))
        start = end
        if start >= rows[-1]:
            break
    if not picked:
        return pa.table({"row": pa.array([], pa.int64())})
    return pa.concat_tables(picked, promote_options="permissive")


class CsvSource(TableSource):
    """A CSV file with a header row, UTF-8 (a BOM is fine), comma or semicolon separated."""

    def __init__(self, spec: TableSpec, path: Path) -> None:
        self.spec = spec
        self.path = path
        self.file = path.name
        try:
            with path.open("rb") as handle:
                first = handle.readline().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportDataError(f"{self.file}, header: not UTF-8 text; save the file as "
                                  "UTF-8", file=self.file, reason="bad_csv") from exc
        self.delimiter = ";" if first.count(";") > first.count(",") else ","
        self.header = next(csv.reader([first], delimiter=self.delimiter), [])
        self.header = [name.strip() for name in self.header]
        if len(set(self.header)) != len(self.header):
            twice = sorted({n for n in self.header if self.header.count(n) > 1})
            raise ImportDataError(f"{self.file}, header: column {twice[0]} appears twice",
                                  file=self.file, column=twice[0], reason="bad_header")

    @property
    def columns(self) -> list[str]:
        known = {c.name for c in self.spec.columns}
        return [name for name in self.header if name in known]

    def row_label(self, row: int) -> str:
        return f"data row {row} (spreadsheet row {row + 1})"

    def progress_total(self) -> tuple[int | None, str]:
        return self.path.stat().st_size, "B"

    def _reader(self, names: list[str]):
        read = pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, column_names=self.header,
                                 skip_rows=1)
        parse = pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True)
        convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                       include_columns=names, strings_can_be_null=True,
                                       null_values=[""], quoted_strings_can_be_null=True)
        source = pa.OSFile(str(self.path))
        return source, pacsv.open_csv(source, read_options=read, parse_options=parse,
                                      convert_options=convert)

    def chunks(self) -> Iterator[Chunk]:
        done = 0
        position = 0
        source = None
        try:
            source, reader = self._reader(self.columns)
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                rows = np.arange(done + 1, done + 1 + batch.num_rows, dtype=np.int64)
                done += batch.num_rows
                moved = source.tell() - position
                position += moved
                yield Chunk(dict(zip(batch.schema.names, batch.columns, strict=True)), rows,
                            progress=moved)
        except pa.ArrowInvalid as exc:
            raise self._unreadable(exc) from exc
        finally:
            if source is not None:
                source.close()

    def _unreadable(self, exc: pa.ArrowInvalid) -> ImportDataError:
        """The first record that breaks the CSV's shape or encoding, found by Python's csv
        module (only after Arrow has given up, which does not say where)."""
        with self.path.open(encoding="utf-8-sig", errors="surrogateescape",
                            newline="") as handle:
            records = csv.reader(handle, delimiter=self.delimiter)
            next(records, None)
            # Arrow skips blank lines and so does the count of data rows.
            for row, values in enumerate((r for r in records if r), start=1):
                where = f"{self.file}, {self.row_label(row)}"
                if len(values) != len(self.header):
                    return ImportDataError(
                        f"{where}: {len(values)} values where the header has "
                        f"{len(self.header)} columns", file=self.file, row=row,
                        reason="bad_csv")
                if any(any("\udc80" <= ch <= "\udcff" for ch in v) for v in values):
                    return ImportDataError(f"{where}: not UTF-8 text; save the file as UTF-8",
                                           file=self.file, row=row, reason="bad_csv")
        return ImportDataError(f"{self.file}: not readable as CSV ({exc})", file=self.file,
                               reason="bad_csv")

    def original_rows(self, rows: np.ndarray) -> pa.Table:
        source, reader = self._reader(self.header)
        try:
            return pick_rows(iter(reader), rows)
        finally:
            source.close()


class ParquetSource(TableSource):
    def __init__(self, spec: TableSpec, path: Path) -> None:
        self.spec = spec
        self.path = path
        self.file = path.name
        try:
            self.parquet = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ImportDataError(f"{self.file}: not a readable Parquet file ({exc})",
                                  file=self.file, reason="bad_parquet") from exc
        self.header = self.parquet.schema_arrow.names

    @property
    def columns(self) -> list[str]:
        known = {c.name for c in self.spec.columns}
        return [name for name in self.header if name in known]

    def progress_total(self) -> tuple[int | None, str]:
        return self.parquet.metadata.num_rows, "rows"

    def chunks(self) -> Iterator[Chunk]:
        done = 0
        for batch in self.parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS,
                                               columns=self.columns):
            rows = np.arange(done + 1, done + 1 + batch.num_rows, dtype=np.int64)
            done += batch.num_rows
            yield Chunk(dict(zip(batch.schema.names, batch.columns, strict=True)), rows,
                        progress=batch.num_rows)

    def original_rows(self, rows: np.ndarray) -> pa.Table:
        return pick_rows(self.parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS), rows)


def contract_sources(folder: Path) -> dict[str, TableSource]:
    """The contract's files found in a folder: `<table>.csv` or `<table>.parquet`."""
    found: dict[str, TableSource] = {}
    for spec in TABLES:
        paths = [folder / f"{spec.name}.{ext}" for ext in ("csv", "parquet")]
        present = [p for p in paths if p.is_file()]
        if len(present) > 1:
            raise ImportDataError(
                f"{folder}: both {present[0].name} and {present[1].name} are present; "
                f"keep one", file=present[0].name, reason="ambiguous_file")
        if present:
            path = present[0]
            found[spec.name] = (CsvSource if path.suffix == ".csv" else ParquetSource)(spec,
                                                                                         path)
    return found

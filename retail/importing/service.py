"""Importing the retailer's data: a folder of files, one transaction, every row checked.

`import_folder` reads the contract's files (or an adapter's view of another format),
imports suppliers, stores, products, customers and receipts in that order and either
keeps all of it or, on the first bad row, nothing. With `skip_bad_rows` the bad rows are
left out, counted by reason and written to a rejects file instead.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection
from tqdm import tqdm

from core.db import get_engine
from core.settings import get_settings
from retail.errors import ImportDataError
from retail.importing.contract import BY_NAME, NEEDS, TABLES, TableSpec
from retail.importing.keys import KeyHashes
from retail.importing.parsing import Fault, parse_chunk, quote
from retail.importing.sources import TableSource, contract_sources
from retail.importing.staging import Stage, stage_for


@dataclass(slots=True)
class TableReport:
    table: str                # the contract's name: stores, receipts, ...
    file: str
    currency: str | None
    read: int = 0             # data rows in the file (or made by an adapter)
    inserted: int = 0
    updated: int = 0          # existed and had other values
    unchanged: int = 0        # existed with the same values
    rejected: int = 0         # left out under skip_bad_rows

    @property
    def imported(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass(slots=True)
class ImportReport:
    folder: Path
    format: str
    tables: list[TableReport] = field(default_factory=list)
    rejects: Counter[str] = field(default_factory=Counter)  # reason -> rows
    rejects_path: Path | None = None
    seconds: float = 0.0

    def table(self, name: str) -> TableReport:
        return next(t for t in self.tables if t.table == name)


def _formats() -> dict[str, Callable[[Path], dict[str, TableSource]]]:
    from retail import completejourney

    return {"vitrina": contract_sources, "completejourney": completejourney.sources}


FORMAT_NAMES = ("vitrina", "completejourney")


def import_folder(*, folder: Path, fmt: str = "vitrina", skip_bad_rows: bool = False,
                  rejects_path: Path | None = None, progress: bool = False) -> ImportReport:
    """Import every table file in `folder`, all or nothing; see ARCHITECTURE.md.

    Raises `ImportDataError` (naming file, row, column and value) on the first bad row
    unless `skip_bad_rows`, in which case bad rows go to `rejects_path` (by default
    `<folder>/rejects.csv`, or under DATA_DIR when the folder is read-only).
    """
    started = time.perf_counter()
    folder = Path(folder)
    if not folder.is_dir():
        raise ImportDataError(f"{folder}: no such folder", reason="missing_folder")
    formats = _formats()
    if fmt not in formats:
        raise ImportDataError(f"unknown format {fmt!r}; known: {', '.join(FORMAT_NAMES)}",
                              reason="unknown_format")
    sources = formats[fmt](folder)
    if not sources:
        names = ", ".join(f"{spec.name}.csv" for spec in TABLES)
        raise ImportDataError(f"{folder}: none of the files of an import ({names}, or "
                              ".parquet) is there", reason="missing_file")
    report = ImportReport(folder=folder, format=fmt)
    log = RejectLog() if skip_bad_rows else None
    if log is not None:
        report.rejects_path = Path(rejects_path) if rejects_path else _default_rejects(folder)
        report.rejects_path.parent.mkdir(parents=True, exist_ok=True)
    partial = None
    try:
        with get_engine().begin() as connection:
            _check_needed_tables(connection, folder, sources)
            for spec in TABLES:
                if spec.name in sources:
                    report.tables.append(_import_table(connection, sources[spec.name], log,
                                                       progress=progress))
            if log is not None:
                partial = log.write(report.rejects_path, sources)
        if partial is not None:
            partial.replace(report.rejects_path)
            partial = None
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
    if log is not None:
        report.rejects = log.counts
        for table in report.tables:
            table.rejected = log.per_table[table.table]
    report.seconds = time.perf_counter() - started
    return report


def _default_rejects(folder: Path) -> Path:
    # A folder without any write bit is read-only by intent, even to root (who may write).
    if os.access(folder, os.W_OK) and folder.stat().st_mode & 0o222:
        return folder / "rejects.csv"
    return get_settings().data_dir / "rejects" / f"{folder.resolve().name}-rejects.csv"


def _is_empty(connection: Connection, spec: TableSpec) -> bool:
    return not connection.exec_driver_sql(
        f"SELECT EXISTS (SELECT 1 FROM {spec.table})").scalar()


def _check_needed_tables(connection: Connection, folder: Path,
                         sources: dict[str, TableSource]) -> None:
    for name, needs in NEEDS.items():
        for needed in needs:
            if name in sources and needed not in sources and _is_empty(connection,
                                                                       BY_NAME[needed]):
                raise ImportDataError(
                    f"{folder}: {sources[name].file} needs {needed}, but there is no "
                    f"{needed}.csv or {needed}.parquet and the database has no {needed} yet",
                    file=f"{needed}.csv", reason="missing_file")


def _import_table(connection: Connection, source: TableSource, log: RejectLog | None, *,
                  progress: bool) -> TableReport:
    settings = get_settings()
    spec = source.spec
    currency = (source.currency or settings.currency) if spec.has_currency else None
    missing = [name for name in spec.required if name not in source.columns]
    if missing:
        column = source.file_column(missing[0])
        raise ImportDataError(
            f"{source.file}, header: required column {column} is missing (of the known "
            f"ones it has: {', '.join(map(source.file_column, source.columns)) or 'none'})",
            file=source.file, column=column, reason="missing_column")
    stage = stage_for(connection, spec)
    stage.create()
    if stage.bulk_loadable():
        report = _bulk_load(connection, stage, source, log, currency, progress=progress)
        if report is not None:
            stage.drop()
            return report
    report = TableReport(spec.name, source.file, currency)
    keys = KeyHashes()
    with stage.loading() as send:
        report.read = _stream(source, send, log, keys, currency, progress=progress)
    stage.after_load()
    _check_staged(stage, source, log, maybe_repeated=keys.maybe_repeated())
    written = stage.write(source.columns, currency)
    stage.drop()
    report.inserted = written.inserted
    report.updated = written.updated
    report.unchanged = written.unchanged
    return report


def _bulk_load(connection: Connection, stage: Stage, source: TableSource,
               log: RejectLog | None, currency: str | None, *,
               progress: bool) -> TableReport | None:
    """Copy straight into the empty table; None (and nothing loaded) if a check fails."""
    spec = source.spec
    report = TableReport(spec.name, source.file, currency)
    keys = KeyHashes()
    before = connection.begin_nested()
    with stage.bulk_loading(currency) as send:
        report.read = _stream(source, send, log, keys, currency, progress=progress)
    if keys.maybe_repeated() or stage.any_unknown(source.columns, relation=spec.table):
        # The staged import finds the same problems and can name their rows.
        before.rollback()
        if log is not None:
            log.forget(spec.name)
        return None
    stage.bulk_finish()
    before.commit()
    report.inserted = report.read - (log.per_table[spec.name] if log is not None else 0)
    return report


def _stream(source: TableSource, send, log: RejectLog | None, keys: KeyHashes,
            currency: str | None, *, progress: bool) -> int:
    """Parse every chunk of a source and send its good rows on; the rows read."""
    settings = get_settings()
    spec = source.spec
    read = 0
    total, unit = source.progress_total()
    with tqdm(total=total, unit=unit, unit_scale=True, desc=source.file, disable=not progress,
              leave=False) as bar:
        for chunk in source.chunks():
            parsed = parse_chunk(source, chunk, timezone=settings.retail_timezone,
                                 currency=currency or settings.currency,
                                 all_faults=log is not None)
            read += len(chunk)
            if parsed.faults:
                if log is None:
                    raise _error(source, parsed.faults[0])
                log.add(spec.name, parsed.faults)
            if parsed.table.num_rows:
                keys.add([parsed.table.column(k).combine_chunks() for k in spec.key])
                send(parsed.table)
            bar.update(chunk.progress)
    return read


def _check_staged(stage: Stage, source: TableSource, log: RejectLog | None, *,
                  maybe_repeated: bool) -> None:
    """References and duplicate keys, which only the whole file (and database) can tell."""
    spec = source.spec
    first: list[Fault] = []
    for column in spec.columns:
        if not column.references or column.name not in source.columns:
            continue
        if not stage.any_unknown(source.columns):
            break
        referred = BY_NAME[column.references]
        name = source.file_column(column.name)
        for row, value in stage.unknown(column, None if log else 1):
            first.append(Fault(
                row, name, f"unknown_{referred.noun}", value,
                f"{source.where(row, name)}: {referred.noun} {quote(value)} is neither in "
                f"the {referred.name} of this import nor in the database"))
            if log is None:
                break
        if log is not None:
            log.add(spec.name, first)
            first = []
            stage.drop_unknown(column)
    if maybe_repeated:
        names = [source.file_column(spec.by_target(k).name) for k in spec.key]
        for row, first_row, *key in stage.duplicates(None if log else 1):
            value = " / ".join(str(k) for k in key)
            first.append(Fault(
                row, ", ".join(names), "duplicate_key", value,
                f"{source.file}, {source.row_label(row)}, columns {', '.join(names)}: "
                f"{spec.noun} {quote(value)} appears again; first at "
                f"{source.row_label(first_row)}"))
        if log is not None:
            log.add(spec.name, first)
            first = []
            stage.drop_duplicates()
    if first:
        raise _error(source, min(first, key=lambda fault: fault.row))


def _error(source: TableSource, fault: Fault) -> ImportDataError:
    return ImportDataError(fault.message, file=source.file, row=fault.row, column=fault.column,
                           value=fault.value, reason=fault.reason)


class RejectLog:
    """The rows left out under skip_bad_rows, and why."""

    def __init__(self) -> None:
        self.faults: dict[str, list[Fault]] = {}
        self.counts: Counter[str] = Counter()
        self.per_table: Counter[str] = Counter()

    def forget(self, table: str) -> None:
        """Drop what was logged for a table (it is about to be read again)."""
        faults = self.faults.pop(table, [])
        self.counts.subtract(fault.reason for fault in faults)
        self.counts = +self.counts
        self.per_table[table] -= len(faults)

    def add(self, table: str, faults: list[Fault]) -> None:
        self.faults.setdefault(table, []).extend(faults)
        self.counts.update(fault.reason for fault in faults)
        self.per_table[table] += len(faults)

    def write(self, path: Path, sources: dict[str, TableSource]) -> Path:
        """A CSV beside `path` (renamed into place once the import commits): file, row,
        column, reason, value, detail, then the rejected row's own values."""
        frames = []
        for spec in TABLES:
            faults = sorted(self.faults.get(spec.name, []), key=lambda fault: fault.row)
            if not faults:
                continue
            source = sources[spec.name]
            frame = pd.DataFrame({
                "file": source.file,
                "row": [fault.row for fault in faults],
                "column": [fault.column for fault in faults],
                "reason": [fault.reason for fault in faults],
                "value": [fault.value for fault in faults],
                "detail": [fault.message for fault in faults],
            })
            rows = np.unique(frame["row"].to_numpy(dtype=np.int64))
            originals = source.original_rows(rows).to_pandas()
            originals = originals.rename(columns={c: f"{c}_" for c in originals.columns
                                                  if c in frame.columns and c != "row"})
            frames.append(frame.merge(originals, on="row", how="left"))
        columns = ["file", "row", "column", "reason", "value", "detail"]
        result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=columns)
        handle, name = tempfile.mkstemp(prefix=".rejects-", suffix=".csv", dir=path.parent)
        os.close(handle)
        result.to_csv(name, index=False)
        return Path(name)

"""The database side of an import: a staging table per contract table, set-based checks,
and one write into the real table — all inside the import's single transaction.

PostgreSQL gets the rows by binary COPY (`pgcopy.py`, sent by a background thread while
the next chunk is parsed); SQLite by executemany. The checks are the same SQL on both: one
pass of outer joins tells whether any row names an unknown store, product, customer or
supplier, and only then do anti-joins list them; a GROUP BY lists keys given twice (run
only when the hashes of `keys.py` suspect one). Each staged row keeps its row number in
the file, so a check's answer is a message that points at the row.

Writing: into an empty table a plain INSERT in key order, with the secondary indexes
dropped and rebuilt for a big import; otherwise an UPDATE … FROM of the rows whose values
changed, then an INSERT of the rows whose key is new (cheaper than ON CONFLICT, which
locks every existing row it meets, changed or not).

Bulk load (PostgreSQL, receipt lines, empty table): the rows skip the staging table and
are copied straight into the table with its primary key and indexes dropped; the checks
then run on the table, and the key and indexes are built once at the end — about twice as
fast. If a check finds anything, the service rolls back to before the load and imports
the file again the staged way, which names the rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from retail.importing import pgcopy
from retail.importing.contract import ARROW_TYPES, BY_NAME, Column, Kind, TableSpec

_PG_TYPES = {Kind.ID: "text", Kind.TEXT: "text", Kind.MONEY: "bigint",
             Kind.QTY: "double precision", Kind.TS: "timestamptz", Kind.BOOL: "boolean",
             Kind.YEAR: "bigint"}
_SQLITE_TYPES = {Kind.ID: "TEXT", Kind.TEXT: "TEXT", Kind.MONEY: "INTEGER", Kind.QTY: "REAL",
                 Kind.TS: "TEXT", Kind.BOOL: "INTEGER", Kind.YEAR: "INTEGER"}
# How SQLAlchemy's DateTime stores a (UTC) timestamp in SQLite; ours must compare the same.
_SQLITE_TS_FORMAT = "%Y-%m-%d %H:%M:%S"
# Below this many rows, rebuilding a table's indexes costs more than it saves.
REBUILD_INDEXES_FROM_ROWS = 100_000


@dataclass(slots=True)
class Written:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(int(value))  # the contract's defaults are 0 and False


def _complete(table: pa.Table, spec: TableSpec) -> pa.Table:
    """All the stage's columns in its order; those the file lacks are null."""
    n = table.num_rows
    columns = [table.column("source_row")]
    for column in spec.columns:
        if column.column in table.schema.names:
            columns.append(table.column(column.column))
        else:
            columns.append(pa.nulls(n, ARROW_TYPES[column.kind]))
    return pa.table(columns, names=["source_row", *[c.column for c in spec.columns]])


class Stage(ABC):
    """The staged rows of one contract table."""

    types: dict[Kind, str]

    def __init__(self, connection: Connection, spec: TableSpec) -> None:
        self.connection = connection
        self.spec = spec
        self.name = f"import_stage_{spec.name}"

    def sql(self, statement: str):
        return self.connection.exec_driver_sql(statement)

    # --- loading -------------------------------------------------------------------------

    def create(self) -> None:
        columns = ", ".join(f"{c.column} {self.types[c.kind]}" for c in self.spec.columns)
        self.sql(f"DROP TABLE IF EXISTS {self.name}")
        self.sql(f"CREATE TEMPORARY TABLE {self.name} (source_row bigint NOT NULL, {columns})")

    @abstractmethod
    @contextmanager
    def loading(self) -> Iterator[Callable[[pa.Table], None]]:
        """A function that stages an Arrow table (source_row + typed columns)."""

    @abstractmethod
    def after_load(self) -> None:
        """Ready the staged rows for the checks."""

    def drop(self) -> None:
        self.sql(f"DROP TABLE IF EXISTS {self.name}")

    def count(self) -> int:
        return self.sql(f"SELECT count(*) FROM {self.name}").scalar()

    # --- checks --------------------------------------------------------------------------

    def _references(self, present: list[str]) -> list[Column]:
        return [c for c in self.spec.columns if c.references and c.name in present]

    def any_unknown(self, present: list[str], *, relation: str | None = None) -> bool:
        """Whether any row (of the stage, or `relation`) names an unknown store, product,
        … — one pass for all references."""
        columns = self._references(present)
        if not columns:
            return False
        joins, misses = [], []
        for number, column in enumerate(columns):
            target = BY_NAME[column.references]
            key = target.key[0]
            joins.append(f"LEFT JOIN {target.table} r{number} "
                         f"ON r{number}.{key} = s.{column.column}")
            misses.append(f"(s.{column.column} IS NOT NULL AND r{number}.{key} IS NULL)")
        # count(*), not EXISTS: a plan that stops at the first hit is slow when none is.
        return self.sql(
            f"SELECT count(*) FROM {relation or self.name} s {' '.join(joins)} "
            f"WHERE {' OR '.join(misses)}").scalar() > 0

    def _unknown_where(self, column: Column) -> str:
        target = BY_NAME[column.references]
        key = target.key[0]
        return (f"s.{column.column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {target.table} r"
                f" WHERE r.{key} = s.{column.column})")

    def unknown(self, column: Column, limit: int | None) -> list[tuple[int, str]]:
        """Rows whose reference names no row of the referred table, in row order."""
        statement = (f"SELECT s.source_row, s.{column.column} FROM {self.name} s "
                     f"WHERE {self._unknown_where(column)} ORDER BY s.source_row")
        if limit:
            statement += f" LIMIT {int(limit)}"
        return [tuple(r) for r in self.sql(statement)]

    def drop_unknown(self, column: Column) -> None:
        self.sql(f"DELETE FROM {self.name} WHERE source_row IN (SELECT s.source_row FROM "
                 f"{self.name} s WHERE {self._unknown_where(column)})")

    def _duplicates_sql(self) -> str:
        keys = ", ".join(self.spec.key)
        joined = " AND ".join(f"d.{k} = s.{k}" for k in self.spec.key)
        return (f"SELECT s.source_row, d.first_row, {', '.join('s.' + k for k in self.spec.key)}"
                f" FROM {self.name} s JOIN (SELECT {keys}, min(source_row) AS first_row"
                f" FROM {self.name} GROUP BY {keys} HAVING count(*) > 1) d ON {joined}"
                f" WHERE s.source_row <> d.first_row")

    def duplicates(self, limit: int | None) -> list[tuple]:
        """Rows whose key an earlier row already has: (row, first row, *key)."""
        statement = self._duplicates_sql() + " ORDER BY s.source_row"
        if limit:
            statement += f" LIMIT {int(limit)}"
        return [tuple(r) for r in self.sql(statement)]

    def drop_duplicates(self) -> None:
        self.sql(f"DELETE FROM {self.name} WHERE source_row IN (SELECT source_row FROM "
                 f"({self._duplicates_sql()}) later)")

    # --- writing -------------------------------------------------------------------------

    def _insert_parts(self, currency: str | None) -> tuple[list[str], list[str]]:
        names, values = [], []
        for column in self.spec.columns:
            names.append(column.column)
            value = f"s.{column.column}"
            if column.default is not None:
                value = f"COALESCE({value}, {_literal(column.default)})"
            values.append(value)
        if self.spec.has_currency:
            names.append("currency")
            values.append(f"'{currency}'")
        return names, values

    def table_is_empty(self) -> bool:
        return not self.sql(f"SELECT EXISTS (SELECT 1 FROM {self.spec.table})").scalar()

    def write(self, present: list[str], currency: str | None) -> Written:
        """Update the rows whose key exists and whose values differ, insert the others."""
        total = self.count()
        if total == 0:
            return Written()
        if self.claim_if_empty():
            with self.indexes_rebuilt(total):
                self.insert(currency)
            return Written(inserted=total)
        self.lock()
        updated = self.update(present, currency)
        inserted = self.insert(currency, only_new=True)
        return Written(inserted, updated, total - inserted - updated)

    @abstractmethod
    def lock(self) -> None:
        """Keep concurrent writers from adding the same keys between update and insert."""

    def update(self, present: list[str], currency: str | None) -> int:
        """Rows of the table that the import changes, matched by the contract's key (for
        receipt lines (receipt_id, sku), so a line whose time changed moves too)."""
        names, values = self._insert_parts(currency)
        given = dict(zip(names, values, strict=True))
        table = self.spec.table
        keys = set(self.spec.key)
        updated = [c for c in self._updated(present) if c not in keys]
        if not updated:
            return 0
        assignments = ", ".join(f"{c} = {given[c]}" for c in updated)
        matched = " AND ".join(f"{table}.{k} = s.{k}" for k in self.spec.key)
        differs = " OR ".join(self._differs(f"{table}.{c}", given[c]) for c in updated)
        return self.sql(f"UPDATE {table} SET {assignments} FROM {self.name} s "
                        f"WHERE {matched} AND ({differs})").rowcount

    @abstractmethod
    def _differs(self, old: str, new: str) -> str: ...

    def _new_key(self) -> str:
        """A condition on a staged row `s`: no row of the table has its key."""
        matched = " AND ".join(f"t.{k} = s.{k}" for k in self.spec.key)
        return f"NOT EXISTS (SELECT 1 FROM {self.spec.table} t WHERE {matched})"

    def _updated(self, present: list[str]) -> list[str]:
        key = set(self.spec.key)
        updated = [c.column for c in self.spec.columns
                   if c.name in present and c.column not in key]
        if self.spec.has_currency:
            updated.append("currency")
        return updated

    def claim_if_empty(self) -> bool:
        """True when the table is empty (and stays so for others until this commits)."""
        return self.table_is_empty()

    @contextmanager
    def indexes_rebuilt(self, rows: int):
        """Drop the table's secondary indexes for a bulk insert and build them after."""
        indexes = sorted(self.spec.model.__table__.indexes, key=lambda index: index.name)
        if rows < REBUILD_INDEXES_FROM_ROWS or not indexes:
            yield
            return
        for index in indexes:
            self.connection.execute(DropIndex(index))
        yield
        for index in indexes:
            self.connection.execute(CreateIndex(index))

    def insert(self, currency: str | None, *, only_new: bool = False) -> int:
        """Insert the staged rows (only those whose key is new), in the table's key order."""
        names, values = self._insert_parts(currency)
        table = self.spec.table
        order = ", ".join(str(names.index(k) + 1) for k in self.spec.primary_key)
        where = f"WHERE {self._new_key()} " if only_new else ""
        return self.sql(f"INSERT INTO {table} ({', '.join(names)}) "
                        f"SELECT {', '.join(values)} FROM {self.name} s {where}"
                        f"ORDER BY {order}").rowcount

    def bulk_loadable(self) -> bool:
        """Whether this import may load straight into the table (see `bulk_loading`)."""
        return False

    def bulk_loading(self, currency: str | None):
        raise NotImplementedError

    def bulk_finish(self) -> None:
        raise NotImplementedError


class PostgresStage(Stage):
    types = _PG_TYPES

    def create(self) -> None:
        # Sorting a big import for the key-ordered insert, and rebuilding indexes, in memory.
        self.sql("SET LOCAL work_mem = '1GB'")
        self.sql("SET LOCAL maintenance_work_mem = '1GB'")
        super().create()

    @contextmanager
    def _copy(self, relation: str, names: list[str]):
        from psycopg.copy import QueuedLibpqWriter

        statement = f"COPY {relation} ({', '.join(names)}) FROM STDIN (FORMAT binary)"
        driver = self.connection.connection.driver_connection
        with driver.cursor() as cursor, \
                cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            copy.write(pgcopy.SIGNATURE)
            yield copy
            copy.write(pgcopy.TRAILER)

    @contextmanager
    def loading(self):
        names = ["source_row", *[c.column for c in self.spec.columns]]
        with self._copy(self.name, names) as copy:
            yield lambda table: copy.write(pgcopy.encode(_complete(table, self.spec)))

    def bulk_loadable(self) -> bool:
        return self.spec.bulk_load and self.claim_if_empty()

    @contextmanager
    def bulk_loading(self, currency: str | None):
        """COPY straight into the (empty) table, its primary key and indexes dropped."""
        table = self.spec.model.__table__
        for index in sorted(table.indexes, key=lambda index: index.name):
            self.connection.execute(DropIndex(index))
        self.connection.execute(DropConstraint(table.primary_key))
        names = [c.column for c in self.spec.columns]
        if self.spec.has_currency:
            names.append("currency")

        def send(staged: pa.Table) -> None:
            rows = _complete(staged, self.spec)
            columns = []
            for column in self.spec.columns:
                values = rows.column(column.column)
                if column.default is not None:
                    values = pc.fill_null(values, column.default)
                columns.append(values)
            if self.spec.has_currency:
                columns.append(pa.repeat(pa.scalar(currency, pa.string()), rows.num_rows))
            copy.write(pgcopy.encode(pa.table(columns, names=names)))

        with self._copy(self.spec.table, names) as copy:
            yield send

    def bulk_finish(self) -> None:
        table = self.spec.model.__table__
        self.connection.execute(AddConstraint(table.primary_key))
        for index in sorted(table.indexes, key=lambda index: index.name):
            self.connection.execute(CreateIndex(index))

    def after_load(self) -> None:
        self.sql(f"ANALYZE {self.name}")

    def claim_if_empty(self) -> bool:
        if not self.table_is_empty():
            return False
        # Keep a concurrent import from filling it meanwhile; readers are not blocked.
        self.sql(f"LOCK TABLE {self.spec.table} IN SHARE ROW EXCLUSIVE MODE")
        return self.table_is_empty()

    def lock(self) -> None:
        self.sql(f"LOCK TABLE {self.spec.table} IN SHARE ROW EXCLUSIVE MODE")

    def _differs(self, old: str, new: str) -> str:
        return f"{old} IS DISTINCT FROM {new}"


class SqliteStage(Stage):
    types = _SQLITE_TYPES

    @contextmanager
    def loading(self):
        names = ["source_row", *[c.column for c in self.spec.columns]]
        statement = (f"INSERT INTO {self.name} ({', '.join(names)}) "
                     f"VALUES ({', '.join('?' for _ in names)})")
        cursor = self.connection.connection.driver_connection.cursor()

        def send(table: pa.Table) -> None:
            table = _complete(table, self.spec)
            columns = []
            for column in table.columns:
                if pa.types.is_timestamp(column.type):
                    column = pc.strftime(column, format=_SQLITE_TS_FORMAT)
                columns.append(column.to_pylist())
            cursor.executemany(statement, zip(*columns, strict=True))

        try:
            yield send
        finally:
            cursor.close()

    def after_load(self) -> None:
        self.sql(f"CREATE INDEX {self.name}_key ON {self.name} ({', '.join(self.spec.key)})")

    def lock(self) -> None:
        """SQLite has one writer at a time: the import's transaction already is it."""

    def _new_key(self) -> str:
        # SQLite runs a correlated NOT EXISTS once per staged row, scanning the table when
        # the key is not its primary key (receipt lines); a join the other way round, once,
        # probes the stage's index instead.
        matched = " AND ".join(f"t.{k} = o.{k}" for k in self.spec.key)
        return (f"s.source_row NOT IN (SELECT o.source_row FROM {self.spec.table} t "
                f"JOIN {self.name} o ON {matched})")

    def _differs(self, old: str, new: str) -> str:
        return f"{old} IS NOT {new}"


def stage_for(connection: Connection, spec: TableSpec) -> Stage:
    if connection.dialect.name == "postgresql":
        return PostgresStage(connection, spec)
    if connection.dialect.name == "sqlite":
        return SqliteStage(connection, spec)
    raise NotImplementedError(f"importing into {connection.dialect.name} is not supported")

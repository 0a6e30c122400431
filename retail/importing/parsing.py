"""Turning a chunk of raw columns into typed values, a whole column at a time.

Every rule is an Arrow compute expression over the column, so a clean chunk costs no
Python per row; the rows that break a rule come back as `Problem` masks and only those
are looked at one by one (to quote them in a message or a rejects file). Where Arrow can
only cast a whole column or fail (timestamps), a failing cast is bisected down to the
offending values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.money import CURRENCY_EXPONENTS
from retail.importing.contract import UTC_US, Column, Kind, TableSpec
from retail.importing.sources import Chunk, Problem, TableSource

# A float amount (in major units) is accepted when it is this close to a whole number of
# minor units: the noise of a binary float, never a third decimal.
FLOAT_MONEY_TOLERANCE = 1e-6
MAX_MONEY_DIGITS = 15
OLDEST_BIRTH_YEAR = 1900

_NUMBER = r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$"
_OFFSET = r"[T ]\d{1,2}(:\d{2}(:\d{2}([.,]\d+)?)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)$"
_TRUE = ["true", "1", "yes"]
_FALSE = ["false", "0", "no"]


@dataclass(slots=True)
class Fault:
    """One rejected row: where, why, and the words for it."""

    row: int
    column: str
    reason: str
    value: str
    message: str


@dataclass(slots=True)
class ParsedChunk:
    table: pa.Table          # source_row + the table's columns, good rows only
    faults: list[Fault]      # bad rows, in row order (just the first unless all_faults)


def quote(value: object) -> str:
    return "''" if value is None else repr(str(value))


def _mask(array: pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy, null counting as False."""
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _empty(text: pa.Array) -> pa.Array:
    return pc.or_(pc.is_null(text), pc.equal(pc.utf8_length(text), 0))


def _as_text(raw: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(raw.type):
        raw = raw.dictionary_decode()
    if pa.types.is_string(raw.type):
        return raw
    if pa.types.is_large_string(raw.type):
        return raw.cast(pa.string())
    return pc.cast(raw, pa.string())


def _text(raw: pa.Array) -> pa.Array:
    """Trimmed text, with empty values as null."""
    if pa.types.is_floating(raw.type):
        # A whole-number float (an id column that pandas turned float) reads as the
        # integer; anything else keeps its decimals and is judged as text.
        whole = pc.and_(pc.is_finite(raw), pc.equal(pc.floor(raw), raw))
        as_int = pc.cast(pc.if_else(whole, raw, None), pa.int64(), safe=False)
        raw = pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(raw, pa.string()))
    text = pc.utf8_trim_whitespace(_as_text(raw))
    return pc.if_else(_empty(text), None, text)


def _minor_units(values: pa.Array, *, exponent: int) -> pa.Array:
    """Whole minor units of decimal text or decimals; raises if any value is not exactly
    representable with `exponent` decimals (the caller then bisects for the culprits)."""
    decimals = pc.cast(values, pa.decimal128(MAX_MONEY_DIGITS + exponent, exponent))
    # A decimal128 is its unscaled value as a 16-byte little-endian integer; below 10**18
    # the low eight bytes are that value as an int64 -- the amount in minor units.
    words = np.frombuffer(decimals.buffers()[1], dtype=np.int64)
    words = words[2 * decimals.offset:2 * (decimals.offset + len(decimals)):2]
    return pa.array(words, pa.int64(), mask=_mask(pc.is_null(decimals)))


def _bisect_failures(values: pa.Array, convert: Callable[[pa.Array], pa.Array], *,
                     first_only: bool) -> np.ndarray:
    """The positions where `convert` fails (or just the first), found by halving."""
    bad = np.zeros(len(values), dtype=bool)

    def visit(lo: int, hi: int) -> bool:
        try:
            convert(values.slice(lo, hi - lo))
            return False
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
            if hi - lo == 1:
                bad[lo] = True
                return True
            middle = (lo + hi) // 2
            found = visit(lo, middle)
            if not (found and first_only):
                visit(middle, hi)
            return True

    visit(0, len(values))
    return bad


def _convert(values: pa.Array, convert: Callable[[pa.Array], pa.Array], *,
             first_only: bool) -> tuple[pa.Array, np.ndarray]:
    """`convert(values)`, and where it fails. When only the first failure matters (the
    import is about to stop at it), the values come back as nulls."""
    try:
        return convert(values), np.zeros(len(values), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        bad = _bisect_failures(values, convert, first_only=first_only)
        if first_only:
            return pa.nulls(len(values), convert(values.slice(0, 0)).type), bad
        return convert(pc.if_else(pa.array(bad), None, values)), bad


class ColumnParser:
    """Parses one column of one chunk; collects the problems it finds."""

    def __init__(self, column: Column, file_column: str, *, max_length: int | None,
                 timezone: str, currency: str, first_only: bool = False) -> None:
        self.column = column
        self.first_only = first_only
        self.file_column = file_column
        self.max_length = max_length
        self.timezone = timezone
        self.exponent = CURRENCY_EXPONENTS.get(currency, 2)
        self.currency = currency
        self.problems: list[Problem] = []

    def problem(self, mask, reason: str, explain: Callable[[str], str],
                values: pa.Array | None = None) -> None:
        mask = mask if isinstance(mask, np.ndarray) else _mask(mask)
        if mask.any():
            self.problems.append(Problem(mask, self.file_column, reason, explain, values))

    def parse(self, raw: pa.Array) -> pa.Array:
        kind = self.column.kind
        if kind in (Kind.ID, Kind.TEXT):
            values = self.text(raw)
        elif kind is Kind.MONEY:
            values = self.money(raw)
        elif kind is Kind.QTY:
            values = self.quantity(raw)
        elif kind is Kind.TS:
            values = self.timestamp(raw)
        elif kind is Kind.BOOL:
            values = self.boolean(raw)
        else:
            values = self.year(raw)
        if not self.column.may_be_empty:
            self.problem(pc.is_null(values) if kind in (Kind.ID, Kind.TEXT)
                         else self._empty_input(raw),
                         "missing_value", lambda v: "empty, but a value is required")
        return values

    @staticmethod
    def _empty_input(raw: pa.Array) -> pa.Array:
        if pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
            return _empty(pc.utf8_trim_whitespace(raw))
        return pc.is_null(raw)

    # --- kinds ---------------------------------------------------------------------------

    def text(self, raw: pa.Array) -> pa.Array:
        if (self.column.kind is Kind.ID and pa.types.is_floating(raw.type)):
            fractional = pc.and_(pc.is_valid(raw),
                                 pc.invert(pc.equal(pc.floor(raw), raw)))
            self.problem(fractional, "bad_id", lambda v: f"{v} is not an identifier "
                         "(a number with decimals)")
        values = _text(raw)
        if self.max_length:
            self.problem(pc.greater(pc.utf8_length(values), self.max_length), "too_long",
                         lambda v: f"{v} is longer than {self.max_length} characters")
        return values

    def _not_a(self, what: str) -> Callable[[str], str]:
        return lambda v: f"{v} is not {what}"

    def money(self, raw: pa.Array) -> pa.Array:
        scale = 10 ** self.exponent
        if pa.types.is_dictionary(raw.type):
            raw = raw.dictionary_decode()
        kind = raw.type
        if pa.types.is_integer(kind):
            limit = 10 ** MAX_MONEY_DIGITS
            huge = pc.greater(pc.abs(raw), limit)
            self.problem(huge, "bad_amount", self._not_a("an amount this system can hold"))
            minor = pc.multiply(pc.cast(pc.if_else(huge, None, raw), pa.int64()), scale)
        elif pa.types.is_floating(kind):
            raw = pc.cast(raw, pa.float64())
            scaled = pc.multiply(raw, float(scale))
            rounded = pc.round(scaled)
            off = pc.or_(pc.invert(pc.is_finite(raw)),
                         pc.greater(pc.abs(pc.subtract(scaled, rounded)),
                                    FLOAT_MONEY_TOLERANCE * scale))
            off = pc.or_(off, pc.greater(pc.abs(raw), 10.0 ** MAX_MONEY_DIGITS))
            self.problem(off, "bad_amount", lambda v: f"{v} is not an amount in whole "
                         f"{self._minor_name()} (a float with more than "
                         f"{self.exponent} decimals)")
            minor = pc.cast(pc.if_else(off, None, rounded), pa.int64())
        elif pa.types.is_decimal(kind) or pa.types.is_string(kind) or \
                pa.types.is_large_string(kind):
            minor = self._decimal(raw)
        else:
            self.problem(pc.is_valid(raw), "bad_amount", self._not_a("a decimal amount"))
            return pa.nulls(len(raw), pa.int64())
        negative = pc.less(minor, 0)
        self.problem(negative, "negative_amount", lambda v: f"{v} is negative")
        return pc.if_else(negative, None, minor)

    def _decimal(self, raw: pa.Array) -> pa.Array:
        """Minor units of decimal text ("123.45", also "123,45") or a Parquet decimal."""
        as_minor = partial(_minor_units, exponent=self.exponent)
        try:
            return as_minor(raw)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        if not pa.types.is_decimal(raw.type):
            raw = pc.replace_substring(pc.utf8_trim_whitespace(_as_text(raw)), ",", ".")
            raw = pc.if_else(_empty(raw), None, raw)
        minor, bad = _convert(raw, as_minor, first_only=self.first_only)
        if pa.types.is_decimal(raw.type):
            precise = np.zeros(len(raw), dtype=bool)
        else:
            precise = _mask(pc.match_substring_regex(raw, r"^[+-]?\d{0,15}\.\d*$"))
        self.problem(bad & precise, "bad_amount",
                     lambda v: f"{v} has more than {self.exponent} decimals")
        self.problem(bad & ~precise, "bad_amount", self._not_a("a decimal amount"))
        return minor

    def _minor_name(self) -> str:
        return "kopecks" if self.currency == "RUB" else "cents"

    def quantity(self, raw: pa.Array) -> pa.Array:
        if pa.types.is_dictionary(raw.type):
            raw = raw.dictionary_decode()
        if pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
            try:
                values = pc.cast(raw, pa.float64())
            except pa.ArrowInvalid:
                values = self._slow_quantity(raw)
        elif pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type) or \
                pa.types.is_decimal(raw.type):
            values = pc.cast(raw, pa.float64())
        else:
            self.problem(pc.is_valid(raw), "bad_quantity", self._not_a("a number"))
            return pa.nulls(len(raw), pa.float64())
        infinite = pc.invert(pc.is_finite(values))
        self.problem(infinite, "bad_quantity", self._not_a("a finite number"))
        not_positive = pc.and_(pc.is_finite(values), pc.less_equal(values, 0))
        self.problem(not_positive, "non_positive_quantity",
                     lambda v: f"{v} is not a positive quantity (returns are not imported)")
        return pc.if_else(pc.or_(infinite, not_positive), None, values)

    def _slow_quantity(self, raw: pa.Array) -> pa.Array:
        """Numbers with a decimal comma or spaces around, and the rows that are none."""
        text = pc.utf8_trim_whitespace(_as_text(raw))
        well_formed = pc.match_substring_regex(text, _NUMBER)
        self.problem(pc.and_(pc.invert(_empty(text)), pc.invert(well_formed)),
                     "bad_quantity", self._not_a("a number"))
        text = pc.replace_substring(pc.if_else(well_formed, text, None), ",", ".")
        return pc.cast(text, pa.float64())

    def timestamp(self, raw: pa.Array) -> pa.Array:
        if pa.types.is_dictionary(raw.type):
            raw = raw.dictionary_decode()
        kind = raw.type
        if pa.types.is_timestamp(kind):
            if kind.tz:
                return pc.cast(raw, UTC_US)
            return self._local(pc.cast(raw, pa.timestamp("us")))
        if pa.types.is_date(kind):
            return self._local(pc.cast(pc.cast(raw, pa.date32()), pa.timestamp("us")))
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            self.problem(pc.is_valid(raw), "bad_timestamp",
                         self._not_a("an ISO 8601 timestamp"))
            return pa.nulls(len(raw), UTC_US)
        text = pc.utf8_trim_whitespace(_as_text(raw))
        text = pc.if_else(_empty(text), None, text)
        with_offset = pc.fill_null(pc.match_substring_regex(text, _OFFSET), False)
        aware, bad_aware = _convert(pc.if_else(with_offset, text, None),
                                    lambda a: pc.cast(a, UTC_US), first_only=self.first_only)
        naive, bad_naive = _convert(pc.if_else(with_offset, None, text),
                                    lambda a: pc.cast(a, pa.timestamp("us")),
                                    first_only=self.first_only)
        bad = bad_aware | bad_naive
        self.problem(bad, "bad_timestamp", lambda v: f"{v} is not an ISO 8601 timestamp "
                     "(e.g. 2024-03-01T10:15:00+03:00, or without the offset in the "
                     "retailer's time zone)")
        return pc.if_else(with_offset, aware, self._local(naive))

    def _local(self, naive: pa.Array) -> pa.Array:
        """Wall-clock times of the retailer's time zone as UTC instants."""
        return pc.cast(pc.assume_timezone(naive, timezone=self.timezone, ambiguous="earliest",
                                          nonexistent="latest"), UTC_US)

    def boolean(self, raw: pa.Array) -> pa.Array:
        if pa.types.is_dictionary(raw.type):
            raw = raw.dictionary_decode()
        if pa.types.is_boolean(raw.type):
            return raw
        if pa.types.is_integer(raw.type):
            self.problem(pc.invert(pc.is_in(raw, pa.array([0, 1], raw.type))), "bad_boolean",
                         self._not_a("a yes/no value (true/false, 1/0, yes/no)"))
            return pc.equal(raw, 1)
        text = pc.utf8_lower(pc.utf8_trim_whitespace(_as_text(raw)))
        text = pc.if_else(_empty(text), None, text)
        true = pc.is_in(text, pa.array(_TRUE))
        known = pc.or_(true, pc.is_in(text, pa.array(_FALSE)))
        self.problem(pc.and_(pc.is_valid(text), pc.invert(known)), "bad_boolean",
                     self._not_a("a yes/no value (true/false, 1/0, yes/no)"))
        return pc.if_else(pc.is_null(text), None, true)

    def year(self, raw: pa.Array) -> pa.Array:
        if pa.types.is_dictionary(raw.type):
            raw = raw.dictionary_decode()
        if pa.types.is_integer(raw.type):
            values = pc.cast(raw, pa.int64())
        elif pa.types.is_floating(raw.type):
            whole = pc.equal(pc.floor(raw), raw)
            self.problem(pc.and_(pc.is_valid(raw), pc.invert(whole)), "bad_year",
                         self._not_a("a year"))
            values = pc.cast(pc.if_else(whole, raw, None), pa.int64(), safe=False)
        else:
            text = pc.utf8_trim_whitespace(_as_text(raw))
            text = pc.if_else(_empty(text), None, text)
            digits = pc.match_substring_regex(text, r"^\d{4}$")
            self.problem(pc.and_(pc.is_valid(text), pc.invert(digits)), "bad_year",
                         self._not_a("a year"))
            values = pc.cast(pc.if_else(digits, text, None), pa.int64())
        this_year = datetime.now(UTC).year
        outside = pc.or_(pc.less(values, OLDEST_BIRTH_YEAR), pc.greater(values, this_year))
        self.problem(outside, "bad_year", lambda v: f"{v} is not a year between "
                     f"{OLDEST_BIRTH_YEAR} and {this_year}")
        return pc.if_else(outside, None, values)


def parse_chunk(source: TableSource, chunk: Chunk, *, timezone: str, currency: str,
                all_faults: bool) -> ParsedChunk:
    """Typed columns for the good rows of a chunk, and the faults of the bad ones."""
    spec: TableSpec = source.spec
    present = set(chunk.columns)
    problems: list[Problem] = list(chunk.problems)
    columns: dict[str, pa.Array] = {}
    raws: dict[str, pa.Array] = {}
    for column in spec.columns:
        if column.name not in present:
            continue
        raw = chunk.columns[column.name]
        parser = ColumnParser(column, source.file_column(column.name),
                              max_length=spec.max_lengths.get(column.column),
                              timezone=timezone, currency=currency, first_only=not all_faults)
        columns[column.column] = parser.parse(raw)
        for problem in parser.problems:
            problem.values = raw if problem.values is None else problem.values
        problems.extend(parser.problems)
        raws[column.name] = raw

    n = len(chunk)
    first = np.full(n, -1, dtype=np.int32)
    for index, problem in enumerate(problems):
        first[problem.mask & (first < 0)] = index
    bad = np.flatnonzero(first >= 0)
    faults = [_fault(source, chunk, problems[first[i]], int(i))
              for i in (bad if all_faults else bad[:1])]
    good = pa.array(first < 0)
    table = pa.table({"source_row": pa.array(chunk.rows), **columns})
    if len(bad):
        table = table.filter(good)
    return ParsedChunk(table, faults)


def _fault(source: TableSource, chunk: Chunk, problem: Problem, index: int) -> Fault:
    row = int(chunk.rows[index])
    values = problem.values
    value = None if values is None else values[index].as_py()
    shown = quote(value)
    return Fault(row, problem.column, problem.reason, "" if value is None else str(value),
                 f"{source.where(row, problem.column)}: {problem.explain(shown)}")

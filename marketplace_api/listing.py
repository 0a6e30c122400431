"""react-admin list conventions for every list endpoint.

In: `sort=["name","ASC"]`, `range=[0,24]` (inclusive) and `filter={"q":"milk","id":[1,2]}`,
each a JSON string. Out: a JSON array of the page and `Content-Range: <resource> 0-24/319`.

A route declares which fields may be sorted and filtered in a `ListSpec` (anything else is
a 422, so a typo never silently returns the wrong rows), gets its scoped `select()` from a
service, and hands both to `fetch_page`:

    PRODUCTS = ListSpec(resource="products", key=(Product.sku,),
                        sortable={"name": Product.name},
                        filters={"q": contains(Product.name), "id": equals(Product.sku)})

    @router.get("/products", response_model=list[ProductRead])
    def list_products(db: DbSession, scope: CurrentScope, params: ListQuery, response: Response):
        statement = retail.select_products(supplier_id=scope.supplier_id)
        return fetch_page(db=db, statement=statement, params=params, spec=PRODUCTS,
                          response=response)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Query, Response
from sqlalchemy import BigInteger, ColumnElement, Select, false, func, or_, select
from sqlalchemy.orm import Session

from core.errors import Invalid

DEFAULT_RANGE = (0, 24)
MAX_PAGE_SIZE = 1000
MAX_INT = 2**31 - 1  # an INTEGER column's range; BIGINT columns take up to MAX_BIGINT
MAX_BIGINT = 2**63 - 1

# A filter gets its name in the request (for error messages) and the value asked for.
Filter = Callable[[str, Any], ColumnElement[bool]]


@dataclass(frozen=True, slots=True)
class ListParams:
    sort_field: str | None = None
    descending: bool = False
    start: int = DEFAULT_RANGE[0]
    end: int = DEFAULT_RANGE[1]
    filter: Mapping[str, Any] = field(default_factory=dict)

    @property
    def limit(self) -> int:
        return self.end - self.start + 1


def _json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Invalid(f"{name} is not valid JSON", code="invalid_list_params",
                      errors={name: "not valid JSON"}) from exc


def _invalid(name: str, problem: str) -> Invalid:
    return Invalid(f"{name}: {problem}", code="invalid_list_params", errors={name: problem})


def parse_list_params(*, sort: str | None, range_: str | None,
                      filter_: str | None) -> ListParams:
    sort_field, descending = None, False
    if sort:
        value = _json("sort", sort)
        if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str)
                or not isinstance(value[1], str) or value[1].upper() not in ("ASC", "DESC")):
            raise _invalid("sort", 'expected ["field", "ASC" or "DESC"]')
        sort_field, descending = value[0], value[1].upper() == "DESC"
    start, end = DEFAULT_RANGE
    if range_:
        value = _json("range", range_)
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                or not 0 <= value[0] <= value[1] <= MAX_INT):
            raise _invalid("range", "expected [first, last] with 0 <= first <= last")
        start, end = value
        if end - start + 1 > MAX_PAGE_SIZE:
            raise _invalid("range", f"at most {MAX_PAGE_SIZE} rows per page")
    filters: dict[str, Any] = {}
    if filter_:
        value = _json("filter", filter_)
        if not isinstance(value, dict):
            raise _invalid("filter", "expected a JSON object")
        filters = value
    return ListParams(sort_field=sort_field, descending=descending, start=start, end=end,
                      filter=filters)


def list_params(
    sort: Annotated[str | None, Query(description='JSON ["field", "ASC"|"DESC"]')] = None,
    range_: Annotated[str | None, Query(alias="range",
                                        description="JSON [first, last], inclusive")] = None,
    filter_: Annotated[str | None, Query(alias="filter",
                                         description='JSON {"q": "...", "field": value}')] = None,
) -> ListParams:
    return parse_list_params(sort=sort, range_=range_, filter_=filter_)


ListQuery = Annotated[ListParams, Depends(list_params)]


# --- filters -------------------------------------------------------------------------------

def _coerce(column: ColumnElement, name: str, value: Any) -> Any:
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    if python_type is bool:
        if isinstance(value, bool):
            return value
        raise _invalid(f"filter.{name}", "expected true or false")
    if isinstance(value, (dict, list)):
        raise _invalid(f"filter.{name}", "expected a single value")
    try:
        if python_type is int and isinstance(value, float):
            raise ValueError
        coerced = python_type(value)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"filter.{name}", f"not a valid {python_type.__name__}") from exc
    limit = MAX_BIGINT if isinstance(column.type, BigInteger) else MAX_INT
    if python_type is int and not -limit <= coerced <= limit:
        raise _invalid(f"filter.{name}", "out of range")
    return coerced


def equals(column: ColumnElement) -> Filter:
    """`field: value` matches equal rows; `field: [v1, v2]` (react-admin's getMany) any."""

    def build(name: str, value: Any) -> ColumnElement[bool]:
        if isinstance(value, list):
            return column.in_([_coerce(column, name, v) for v in value])
        return column == _coerce(column, name, value)

    return build


def contains(*columns: ColumnElement) -> Filter:
    """Case-insensitive "contains" in any of the columns (react-admin's `q` search)."""

    def build(name: str, value: Any) -> ColumnElement[bool]:
        if not isinstance(value, str):
            raise _invalid(f"filter.{name}", "expected text")
        pattern = "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return or_(*(column.ilike(pattern, escape="\\") for column in columns))

    return build


def is_null(column: ColumnElement) -> Filter:
    """`field: true` matches rows where the column is empty, `false` where it is set."""

    def build(name: str, value: Any) -> ColumnElement[bool]:
        if not isinstance(value, bool):
            raise _invalid(f"filter.{name}", "expected true or false")
        return column.is_(None) if value else column.is_not(None)

    return build


# --- applying them -------------------------------------------------------------------------

@dataclass(frozen=True)
class ListSpec:
    """What one list endpoint accepts. `key` orders ties, so pages never overlap."""

    resource: str
    key: tuple[ColumnElement, ...]
    sortable: Mapping[str, ColumnElement] = field(default_factory=dict)
    filters: Mapping[str, Filter] = field(default_factory=dict)


def apply(statement: Select, params: ListParams, spec: ListSpec) -> Select:
    """The statement filtered and sorted as asked, without paging."""
    unknown = sorted(set(params.filter) - set(spec.filters))
    if unknown:
        allowed = ", ".join(sorted(spec.filters)) or "none"
        raise _invalid("filter", f"cannot filter by {', '.join(unknown)}; allowed: {allowed}")
    for name, value in params.filter.items():
        if value is None:
            continue
        if isinstance(value, list) and not value:
            statement = statement.where(false())
            continue
        statement = statement.where(spec.filters[name](name, value))
    order: list[ColumnElement] = []
    if params.sort_field is not None:
        column = spec.sortable.get(params.sort_field)
        if column is None:
            allowed = ", ".join(sorted(spec.sortable)) or "none"
            raise _invalid("sort", f"cannot sort by {params.sort_field}; allowed: {allowed}")
        order.append(column.desc() if params.descending else column.asc())
    order.extend(spec.key)
    return statement.order_by(*order)


def content_range(resource: str, start: int, count: int, total: int) -> str:
    if count == 0:
        return f"{resource} */{total}"
    return f"{resource} {start}-{start + count - 1}/{total}"


def fetch_page(*, db: Session, statement: Select, params: ListParams, spec: ListSpec,
               response: Response) -> list[Any]:
    """One page of rows (ORM objects for a one-entity select, mappings otherwise), with the
    total in the `Content-Range` header."""
    statement = apply(statement, params, spec)
    total = db.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    page = statement.offset(params.start).limit(params.limit)
    result = db.execute(page)
    rows = (list(result.scalars()) if len(statement.column_descriptions) == 1
            else list(result.mappings()))
    response.headers["Content-Range"] = content_range(spec.resource, params.start, len(rows),
                                                      total or 0)
    return rows

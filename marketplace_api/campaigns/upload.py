"""Campaigns from a spreadsheet: a CSV or XLSX file, one row per campaign, checked by the
same rules as the JSON API (`CampaignCreate` for the shape, `service.check_campaign` for
the business rules) and reported per row and column.

Columns (headers in Russian and English, e.g. "Название / Name"; either language alone is
accepted too, in any order; unknown columns are ignored):
name, segment (id or exact name), SKUs (separated by commas or semicolons), start and end
(a date — the end date is included — or a timestamp in the retailer's local time),
either a fixed discount % or an AI range (min %, max %, goal units|revenue), the weekly
per-shopper limit (optional: the price-band default), the budget in roubles as a decimal
("1234.50", never parsed through a float), the holdout % (optional, default 10), the
activation mode (optional: explicit), and stores or regions (optional: every store).

A dry run writes nothing. The real run creates every valid row as a draft in one
transaction and reports the invalid ones: the drafts can be revised in the cabinet, and
the corrected rows uploaded again. It is idempotent twice over: the same file (by SHA-256)
answers with its first report and creates nothing; and a row identical to one an earlier
file already created is not created again (`existing_ids`), so uploading the corrected
file does not duplicate the rows that were fine the first time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audience.models import Segment, SegmentStatus
from core.audit import to_json
from core.money import MoneyError, to_minor
from core.settings import get_settings
from marketplace_api.campaigns import errors, service
from marketplace_api.campaigns.models import ActivationMode, Campaign, Upload
from marketplace_api.campaigns.schemas import CampaignCreate, UploadProblem, UploadReport
from marketplace_api.identity.models import Organisation, OrganisationKind

MAX_BYTES = 5_000_000
MAX_ROWS = 1000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Column:
    key: str
    ru: str
    en: str
    required: bool
    help_ru: str
    help_en: str
    example: str

    @property
    def header(self) -> str:
        return f"{self.ru} / {self.en}"


COLUMNS = (
    Column("name", "Название", "Name", True, "Название кампании", "The campaign's name",
           "Молоко: весна"),
    Column("segment", "Сегмент", "Segment", True, "Номер или точное название сохранённого "
           "сегмента", "A saved segment's id or exact name", "12"),
    Column("skus", "Товары (SKU)", "SKUs", True, "Артикулы через запятую или точку с "
           "запятой", "SKUs separated by commas or semicolons", "A-1, A-2"),
    Column("start", "Начало", "Start", True, "Дата (2026-12-01 или 01.12.2026) или время",
           "A date (2026-12-01 or 01.12.2026) or a timestamp", "2026-12-01"),
    Column("end", "Окончание", "End", True, "Дата окончания включительно или время",
           "The last day (included) or a timestamp", "2026-12-31"),
    Column("depth", "Скидка, %", "Discount, %", False, "Фиксированная скидка, %; либо "
           "заполните диапазон ИИ", "A fixed discount, %; or fill in the AI range", "15"),
    Column("ai_min", "ИИ: мин. скидка, %", "AI: min discount, %", False,
           "Наименьшая персональная скидка", "The shallowest personal discount", ""),
    Column("ai_max", "ИИ: макс. скидка, %", "AI: max discount, %", False,
           "Наибольшая персональная скидка", "The deepest personal discount", ""),
    Column("goal", "ИИ: цель", "AI: goal", False, "units (штуки) или revenue (выручка)",
           "units or revenue", ""),
    Column("limit", "Лимит, шт./нед.", "Limit, units/week", False,
           "Штук на покупателя в неделю; пусто — по цене товара",
           "Units per shopper per week; empty: by the item's price", ""),
    Column("budget", "Бюджет, руб.", "Budget, RUB", True, "Рубли с копейками: 1234.50",
           "Roubles with kopecks: 1234.50", "50000.00"),
    Column("holdout", "Контрольная группа, %", "Holdout, %", False,
           "0–50, по умолчанию 10", "0–50, default 10", "10"),
    Column("activation", "Активация", "Activation", False,
           "explicit (в приложении) или automatic (автоматически)",
           "explicit (in the app) or automatic", "explicit"),
    Column("stores", "Магазины", "Stores", False, "Номера магазинов; пусто — все",
           "Store ids; empty: every store", ""),
    Column("regions", "Регионы", "Regions", False, "Регионы; пусто — все",
           "Regions; empty: every region", ""),
)
BY_KEY = {column.key: column for column in COLUMNS}

# Which column a field of CampaignCreate comes from, to put each problem in its cell.
COLUMN_OF_FIELD = {
    "name": "name", "segment_id": "segment", "segment_version": "segment", "skus": "skus",
    "starts_at": "start", "ends_at": "end", "depth_mode": "depth", "discount_bp": "depth",
    "min_discount_bp": "ai_min", "max_discount_bp": "ai_max", "goal": "goal",
    "limit_units_per_week": "limit", "budget_minor": "budget", "currency": "budget",
    "holdout_bp": "holdout", "activation_mode": "activation", "store_ids": "stores",
    "regions": "regions",
}
GOALS = {"units": "units", "штуки": "units", "шт": "units", "revenue": "revenue",
         "выручка": "revenue"}
ACTIVATIONS = {"explicit": ActivationMode.explicit, "в приложении": ActivationMode.explicit,
               "явная": ActivationMode.explicit, "automatic": ActivationMode.automatic,
               "автоматически": ActivationMode.automatic,
               "автоматическая": ActivationMode.automatic}


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\ufeff", "")).strip().casefold()


HEADER_NAMES: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, _column.ru, _column.en, _column.key):
        HEADER_NAMES[_normal(_name)] = _column.key


# --- the template --------------------------------------------------------------------------

def template(kind: str) -> tuple[bytes, str]:
    """The file to fill in: the bilingual header row (XLSX: and a help sheet)."""
    if kind == "csv":
        out = io.StringIO()
        csv.writer(out, delimiter=";").writerow([column.header for column in COLUMNS])
        return ("\ufeff" + out.getvalue()).encode("utf-8"), CSV_TYPE
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Кампании - Campaigns"
    sheet.append([column.header for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = \
            max(14, len(column.header) + 2)
    sheet.freeze_panes = "A2"
    help_sheet = book.create_sheet("Справка - Help")
    help_sheet.append(["Столбец / Column", "Обязательный / Required", "Описание",
                       "Meaning", "Пример / Example"])
    for column in COLUMNS:
        help_sheet.append([column.header, "да / yes" if column.required else "нет / no",
                           column.help_ru, column.help_en, column.example])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), XLSX_TYPE


# --- reading the file ----------------------------------------------------------------------

Cell = str | int | float | datetime | date | None


@dataclass
class Sheet:
    headers: list[str]
    rows: list[tuple[int, list[Cell]]]  # (spreadsheet row number, cells)


def read_sheet(content: bytes, filename: str) -> Sheet:
    if content.startswith(b"PK\x03\x04"):
        return _read_xlsx(content)
    if content.startswith(b"\xd0\xcf\x11\xe0") or filename.lower().endswith(".xls"):
        raise errors.InvalidUpload("Old .xls files are not read: save the file as XLSX or CSV",
                                   errors={"file": "save as XLSX or CSV"})
    return _read_csv(content)


def _read_csv(content: bytes) -> Sheet:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1251")  # what Russian Excel saves as "CSV"
    lines = text.splitlines()
    if not lines:
        raise errors.InvalidUpload("The file is empty", errors={"file": "empty"})
    first = lines[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise errors.InvalidUpload(f"The CSV file cannot be read: {exc}",
                                   errors={"file": "not a readable CSV file"}) from exc
    rows = [(number, list(record)) for number, record in enumerate(records[1:], start=2)]
    return Sheet(headers=records[0], rows=rows)


def _read_xlsx(content: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # a damaged file: openpyxl raises many kinds
        raise errors.InvalidUpload("The XLSX file cannot be read",
                                   errors={"file": "not a readable XLSX file"}) from exc
    sheet = book.worksheets[0]
    headers: list[str] | None = None
    rows: list[tuple[int, list[Cell]]] = []
    for number, cells in enumerate(sheet.iter_rows(), start=1):
        values: list[Cell] = []
        for cell in cells:
            value = cell.value
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and "%" in (cell.number_format or ""):
                value = str(Decimal(repr(value)) * 100)  # 15 % is stored as 0.15
            values.append(value)
        if headers is None:
            headers = ["" if v is None else str(v) for v in values]
        else:
            rows.append((number, values))
    book.close()
    if headers is None:
        raise errors.InvalidUpload("The file is empty", errors={"file": "empty"})
    return Sheet(headers=headers, rows=rows)


# --- one row -------------------------------------------------------------------------------

class CellProblem(Exception):
    pass


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value).removesuffix(".0")
    return str(value).strip()


def _decimal(value: Cell) -> Decimal:
    text = _text(value).replace("\u00a0", "").replace(" ", "").replace(",", ".")
    text = text.removesuffix("%")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise CellProblem(f"not a number: {_text(value)!r}") from exc
    if not number.is_finite():
        raise CellProblem(f"not a number: {_text(value)!r}")
    return number


def _percent_bp(value: Cell) -> int:
    bp = _decimal(value) * 100
    if bp != bp.to_integral_value():
        raise CellProblem("at most two decimals of a per cent")
    return int(bp)


def _whole(value: Cell) -> int:
    number = _decimal(value)
    if number != number.to_integral_value():
        raise CellProblem(f"not a whole number: {_text(value)!r}")
    return int(number)


def _moment(value: Cell, *, end: bool) -> datetime:
    """A date is a whole local day: the start at its midnight, an end after it."""
    day: date | None = None
    if isinstance(value, datetime):
        if value.time() != time.min:
            return value
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = _text(value)
        for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                day = datetime.strptime(text, pattern).date()
                break
            except ValueError:
                continue
        if day is None:
            try:
                return datetime.fromisoformat(text)
            except ValueError as exc:
                raise CellProblem(f"not a date: {text!r} (write 2026-12-01 or 01.12.2026)") \
                    from exc
    return service.local_midnight(day + timedelta(days=1) if end else day)


def _list(value: Cell) -> list[str]:
    return [part.strip() for part in re.split(r"[;,\n]", _text(value)) if part.strip()]


def _segment_id(db: Session, organisation: Organisation, value: Cell) -> int:
    text = _text(value)
    if re.fullmatch(r"\d+", text):
        return int(text)
    found = list(db.scalars(select(Segment.id).where(
        Segment.organisation_id == organisation.id,
        Segment.status == SegmentStatus.active,
        func.lower(Segment.name) == text.lower())))
    if not found:
        raise CellProblem(f"no segment named {text!r}")
    if len(found) > 1:
        raise CellProblem(f"several segments are named {text!r}: write the id")
    return found[0]


@dataclass
class Row:
    number: int
    values: dict[str, Any] | None  # checked and complete, or None when invalid
    problems: dict[str, str]       # column key (or "" for the row) -> problem
    digest: str | None = None


def check_row(*, db: Session, organisation: Organisation, number: int,
              cells: dict[str, Cell]) -> Row:
    problems: dict[str, str] = {}
    data: dict[str, Any] = {"currency": get_settings().currency}

    def parse(key: str, field: str, convert) -> None:
        raw = cells.get(key)
        if _text(raw) == "":
            return
        try:
            data[field] = convert(raw)
        except (CellProblem, MoneyError) as exc:
            problems[key] = str(exc)

    data["name"] = _text(cells.get("name")) or None
    parse("segment", "segment_id", lambda v: _segment_id(db, organisation, v))
    parse("skus", "skus", _list)
    parse("start", "starts_at", lambda v: _moment(v, end=False))
    parse("end", "ends_at", lambda v: _moment(v, end=True))
    parse("depth", "discount_bp", _percent_bp)
    parse("ai_min", "min_discount_bp", _percent_bp)
    parse("ai_max", "max_discount_bp", _percent_bp)
    parse("goal", "goal", lambda v: _choice(v, GOALS))
    parse("limit", "limit_units_per_week", _whole)
    parse("budget", "budget_minor", lambda v: to_minor(_text(v).replace(" ", "")
                                                       .replace("\u00a0", ""),
                                                       data["currency"]))
    parse("holdout", "holdout_bp", _percent_bp)
    parse("activation", "activation_mode", lambda v: _choice(v, ACTIVATIONS))
    parse("stores", "store_ids", _list)
    parse("regions", "regions", _list)

    fixed = "discount_bp" in data or _text(cells.get("depth")) != ""
    ai = any(_text(cells.get(key)) != "" for key in ("ai_min", "ai_max"))
    if fixed and ai:
        problems.setdefault("depth", "give a fixed discount or an AI range, not both")
    elif not fixed and not ai:
        problems.setdefault("depth", "give a fixed discount or an AI range (min and max)")
    data["depth_mode"] = "ai" if ai else "fixed"

    for key in ("name", "segment", "skus", "start", "end", "budget"):
        if _text(cells.get(key)) == "":
            problems.setdefault(key, "required")

    # The shape, as the JSON API checks it.
    try:
        CampaignCreate.model_validate(data)
    except ValidationError as exc:
        for item in exc.errors():
            field = str(item["loc"][0]) if item["loc"] else ""
            problems.setdefault(COLUMN_OF_FIELD.get(field, ""), item["msg"])
            data.pop(field, None)
    # The business rules, as the JSON API checks them (on what could be read at all).
    values = None
    try:
        values = service.check_campaign(db=db, organisation=organisation, values={
            field: data.get(field) for field in service.FIELDS}, changed=set(service.FIELDS))
    except errors.InvalidCampaign as exc:
        for field, problem in exc.errors.items():
            problems.setdefault(COLUMN_OF_FIELD.get(field, ""), problem)
    if problems:
        return Row(number, None, problems)
    digest = hashlib.sha256(json.dumps(to_json(values), sort_keys=True).encode()).hexdigest()
    return Row(number, values, {}, digest)


def _choice(value: Cell, choices: dict[str, Any]) -> Any:
    text = _text(value).casefold()
    if text not in choices:
        allowed = ", ".join(dict.fromkeys(str(v) for v in choices.values()))
        raise CellProblem(f"{_text(value)!r} is not one of: {allowed}")
    return choices[text]


# --- the whole file ------------------------------------------------------------------------

def upload_campaigns(*, db: Session, organisation: Organisation, user_id: int | None,
                     content: bytes, filename: str, dry_run: bool) -> UploadReport:
    """Check a campaign file and (unless `dry_run`) create its valid rows as drafts."""
    if organisation.kind not in (OrganisationKind.supplier, OrganisationKind.retailer):
        raise errors.InvalidUpload("This organisation cannot have campaigns")
    sha256 = hashlib.sha256(content).hexdigest()
    if not dry_run:
        earlier = db.scalars(select(Upload).where(Upload.organisation_id == organisation.id,
                                                  Upload.sha256 == sha256)).first()
        if earlier is not None:
            return UploadReport.model_validate({**earlier.report, "replayed": True})

    sheet = read_sheet(content, filename)
    header_of: dict[str, str] = {}
    position: dict[str, int] = {}
    for index, header in enumerate(sheet.headers):
        key = HEADER_NAMES.get(_normal(header or ""))
        if key is not None and key not in position:
            position[key] = index
            header_of[key] = header.replace("\ufeff", "").strip()
    missing = [column.header for column in COLUMNS if column.required
               and column.key not in position]
    if missing:
        raise errors.InvalidUpload(
            f"The file lacks the columns: {', '.join(missing)} (download the template)",
            errors={"file": f"missing columns: {', '.join(missing)}"})
    data_rows = [(number, cells) for number, cells in sheet.rows
                 if any(_text(cell) != "" for cell in cells)]
    if len(data_rows) > MAX_ROWS:
        raise errors.InvalidUpload(f"At most {MAX_ROWS} campaigns per file",
                                   errors={"file": f"more than {MAX_ROWS} rows"})

    checked: list[Row] = []
    first_row_of: dict[str, int] = {}
    for number, cells in data_rows:
        named = {key: cells[index] if index < len(cells) else None
                 for key, index in position.items()}
        row = check_row(db=db, organisation=organisation, number=number, cells=named)
        if row.digest is not None:
            if row.digest in first_row_of:
                row.problems[""] = f"the same campaign as row {first_row_of[row.digest]}"
                row.values = None
            else:
                first_row_of[row.digest] = number
        checked.append(row)

    problems = [UploadProblem(row=row.number, column=(header_of.get(key) or BY_KEY[key].header)
                              if key else None, problem=problem)
                for row in checked for key, problem in row.problems.items()]
    valid = [row for row in checked if row.values is not None]
    existing = {}
    if valid:
        existing = dict(db.execute(select(Campaign.source_row_sha256, Campaign.id).where(
            Campaign.organisation_id == organisation.id,
            Campaign.source_row_sha256.in_([row.digest for row in valid]))).tuples().all())
    report = UploadReport(dry_run=dry_run, sha256=sha256, rows=len(checked),
                          valid_rows=len(valid), problems=problems, created_ids=[],
                          existing_ids=[existing[row.digest] for row in valid
                                        if row.digest in existing])
    if dry_run:
        return report

    record = Upload(organisation_id=organisation.id, sha256=sha256, filename=filename[:255],
                    created_by_id=user_id)
    try:
        with db.begin_nested():
            db.add(record)
            db.flush()
    except IntegrityError as exc:
        raise errors.WrongStatus("This file is being uploaded by another request right now",
                                 code="upload_in_progress") from exc
    for row in valid:
        if row.digest in existing:
            continue
        campaign = service.create_campaign(
            db=db, organisation=organisation, user_id=user_id, source_row_sha256=row.digest,
            data=CampaignCreate.model_validate(row.values))
        report.created_ids.append(campaign.id)
    record.campaign_ids = list(report.created_ids)
    record.report = report.as_json()
    db.flush()
    return report

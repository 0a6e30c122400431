"""Campaigns from a spreadsheet: the dry run's report names row and column, the real run
creates the valid rows as drafts and is idempotent, the template round-trips (SQLite)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from openpyxl import load_workbook

from tests.campaigns.conftest import API, make_segment

TOMORROW = date.today() + timedelta(days=1)
HEADERS = ["Название / Name", "Сегмент / Segment", "Товары (SKU) / SKUs", "Начало / Start",
           "Окончание / End", "Скидка, % / Discount, %", "ИИ: мин. скидка, % / AI: min "
           "discount, %", "ИИ: макс. скидка, % / AI: max discount, %", "ИИ: цель / AI: goal",
           "Бюджет, руб. / Budget, RUB", "Контрольная группа, % / Holdout, %"]


def csv_file(rows, headers=HEADERS, delimiter=";") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def upload(client, headers, content, *, dry_run, filename="campaigns.csv"):
    return client.post(f"{API}/campaigns/upload", params={"dry_run": str(dry_run).lower()},
                       files={"file": (filename, content)}, headers=headers)


def good_row(segment, name="Milk week", skus="A-0; A-1"):
    return [name, segment, skus, TOMORROW.isoformat(),
            (TOMORROW + timedelta(days=13)).strftime("%d.%m.%Y"), "15", "", "", "",
            "12 345.67", ""]


def test_a_dry_run_reports_every_problem_by_row_and_column_and_writes_nothing(client,
                                                                               world):
    market = world.market
    make_segment(client, market.manager_a, name="App users")
    content = csv_file([
        good_row("App users"),
        ["Tea", "App users", "A-0, B-1", TOMORROW.isoformat(), "2020-01-01", "15", "", "",
         "", "-5", "80"],
        ["", "Nobody", "A-2", "tomorrow", TOMORROW.isoformat(), "", "5", "", "", "1.234",
         ""],
    ])
    response = upload(client, market.manager_a, content, dry_run=True)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["valid_rows"], report["created_ids"]) == (3, 1, [])
    problems = {(p["row"], p["column"]): p["problem"] for p in report["problems"]}
    assert "not your products: B-1" in problems[(3, "Товары (SKU) / SKUs")]
    assert "end after it starts" in problems[(3, "Окончание / End")]
    assert "greater than 0" in problems[(3, "Бюджет, руб. / Budget, RUB")]
    assert "5000" in problems[(3, "Контрольная группа, % / Holdout, %")]
    assert problems[(4, "Название / Name")] == "required"
    assert "no segment named 'Nobody'" in problems[(4, "Сегмент / Segment")]
    assert "not a date" in problems[(4, "Начало / Start")]
    assert "more than 2 decimals" in problems[(4, "Бюджет, руб. / Budget, RUB")]
    assert "needs max_discount_bp" in problems[(4, "ИИ: макс. скидка, % / AI: max discount, %")]
    assert not any(row == 2 for row, _ in problems)
    assert client.get(f"{API}/campaigns", headers=market.manager_a).json() == []


def test_the_real_run_creates_the_valid_rows_as_drafts_once(client, world):
    market = world.market
    segment_id = make_segment(client, market.manager_a)
    bad = good_row(str(segment_id), name="Tea", skus="B-0")
    first_file = csv_file([good_row(str(segment_id)), bad,
                           good_row(str(segment_id), name="Curd", skus="A-2")])
    report = upload(client, market.manager_a, first_file, dry_run=False).json()
    assert report["valid_rows"] == 2 and len(report["created_ids"]) == 2
    assert [(p["row"], p["column"]) for p in report["problems"]] == \
        [(3, "Товары (SKU) / SKUs")]
    drafts = client.get(f"{API}/campaigns", headers=market.manager_a,
                        params={"sort": '["id","ASC"]'}).json()
    assert [(c["name"], c["status"], c["budget_minor"], c["discount_bp"]) for c in drafts] == \
        [("Milk week", "draft", 1_234_567, 1500), ("Curd", "draft", 1_234_567, 1500)]
    milk = drafts[0]
    # Dates are whole local days: the end date is included.
    assert milk["ends_at"].startswith((TOMORROW + timedelta(days=13)).isoformat()) and \
        milk["ends_at"].endswith("21:00:00Z")

    # The same file again: the same answer, nothing new.
    again = upload(client, market.manager_a, first_file, dry_run=False).json()
    assert again["replayed"] is True and again["created_ids"] == report["created_ids"]
    # The corrected file: only the corrected row is new.
    fixed = csv_file([good_row(str(segment_id)), good_row(str(segment_id), name="Tea 2"),
                      good_row(str(segment_id), name="Curd", skus="A-2")])
    third = upload(client, market.manager_a, fixed, dry_run=False).json()
    assert len(third["created_ids"]) == 1
    assert sorted(third["existing_ids"]) == sorted(report["created_ids"])
    assert len(client.get(f"{API}/campaigns", headers=market.manager_a).json()) == 3
    # Another supplier's identical file is its own (and here: not its products).
    other = upload(client, market.manager_b, first_file, dry_run=False).json()
    assert other["created_ids"] == [] and other["valid_rows"] == 0


def test_the_template_downloads_in_both_formats_and_round_trips(client, world):
    market = world.market
    segment_id = make_segment(client, market.manager_a)

    response = client.get(f"{API}/campaigns/upload/template", params={"format": "csv"},
                          headers=market.manager_a)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    headers = next(csv.reader(io.StringIO(text), delimiter=";"))
    assert headers[0] == "Название / Name" and "Бюджет, руб. / Budget, RUB" in headers
    row = {"Название / Name": "From CSV template", "Сегмент / Segment": str(segment_id),
           "Товары (SKU) / SKUs": "A-0", "Начало / Start": TOMORROW.isoformat(),
           "Окончание / End": (TOMORROW + timedelta(days=6)).isoformat(),
           "ИИ: мин. скидка, % / AI: min discount, %": "5",
           "ИИ: макс. скидка, % / AI: max discount, %": "25",
           "ИИ: цель / AI: goal": "выручка", "Бюджет, руб. / Budget, RUB": "1000",
           "Активация / Activation": "автоматически"}
    filled = text + ";".join(row.get(h, "") for h in headers) + "\r\n"
    report = upload(client, market.manager_a, filled.encode("utf-8-sig"),
                    dry_run=False).json()
    assert report["problems"] == [] and len(report["created_ids"]) == 1
    made = client.get(f"{API}/campaigns/{report['created_ids'][0]}",
                      headers=market.manager_a).json()
    assert (made["depth_mode"], made["min_discount_bp"], made["max_discount_bp"],
            made["goal"], made["activation_mode"], made["budget_minor"]) == \
        ("ai", 500, 2500, "revenue", "automatic", 100_000)

    response = client.get(f"{API}/campaigns/upload/template", params={"format": "xlsx"},
                          headers=market.manager_a)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:2] == ["Название / Name", "Сегмент / Segment"]
    assert book.worksheets[1].max_row == len(headers) + 1  # a help line per column
    values = {"Название / Name": "From XLSX template", "Сегмент / Segment": segment_id,
              "Товары (SKU) / SKUs": "A-1", "Начало / Start": TOMORROW,
              "Окончание / End": TOMORROW + timedelta(days=6),
              "Скидка, % / Discount, %": 0.125, "Бюджет, руб. / Budget, RUB": 2500.5,
              "Контрольная группа, % / Holdout, %": 20}
    sheet.append([values.get(h) for h in headers])
    sheet.cell(row=2, column=headers.index("Скидка, % / Discount, %") + 1).number_format = \
        "0.0%"
    out = io.BytesIO()
    book.save(out)
    report = upload(client, market.manager_a, out.getvalue(), dry_run=False,
                    filename="campaigns.xlsx").json()
    assert report["problems"] == [], report
    made = client.get(f"{API}/campaigns/{report['created_ids'][0]}",
                      headers=market.manager_a).json()
    assert (made["discount_bp"], made["budget_minor"], made["holdout_bp"]) == \
        (1250, 250_050, 2000)


def test_english_headers_alone_and_a_missing_column(client, world):
    market = world.market
    segment_id = make_segment(client, market.manager_a)
    english = ["Name", "Segment", "SKUs", "Start", "End", "Discount, %", "Budget, RUB"]
    content = csv_file([["Milk", segment_id, "A-0", TOMORROW.isoformat(),
                         TOMORROW.isoformat(), "10", "500"]], headers=english, delimiter=",")
    report = upload(client, market.manager_a, content, dry_run=True).json()
    assert report["problems"] == [] and report["valid_rows"] == 1
    missing = upload(client, market.manager_a, csv_file([], headers=english[:4]),
                     dry_run=True)
    assert missing.status_code == 422
    assert "Бюджет, руб. / Budget, RUB" in missing.json()["message"]
    assert client.get(f"{API}/campaigns/upload/template",
                      headers=market.finance).status_code == 403

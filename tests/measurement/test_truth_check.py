"""The report's incremental units against the simulator's truth.

Ten small simulated retailers, each with a campaign on one supplier's SKUs in a category:
the treated part of the segment shops with the offers, the holdout (chosen by the serving's
own `in_holdout`) without. Their receipts go through the importer into PostgreSQL and the
report's own function measures them. The truth is `Market.respond` — the same world played
with and without the offers for the treated shoppers on common random numbers. The
report's 95 % interval must hold the truth in at least 9 of the 10 worlds, and be narrow
enough to tell the campaign's effect from none in at least half of them (an interval too
wide to say anything would hold any truth).

About the seeds: over 60 worlds tried while building this check (seeds 101-160, without
the database round trip), 55 intervals held the truth (92 %, as a 95 % interval may), and
seeds 101-110 alone held it in only 8 of 10. So 9 of 10 fails by chance about one time
in twelve; the seeds below were fixed before they were first run. The world keeps its
default 3 % of visits without a loyalty card: the report cannot see those, so its estimate
runs about 3 % low — small beside the interval, and true of a real retailer too.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlalchemy import delete

from core.db import session_scope
from core.settings import get_settings
from marketplace_api.campaigns.models import Campaign
from marketplace_api.measurement import report
from marketplace_api.offers.holdout import in_holdout
from retail.importing.service import import_folder
from retail.models import ReceiptLine
from retail.simulator import Market
from retail.simulator.calendar import week_start
from retail.simulator.files import write_table
from tests import factories
from tests.measurement.conftest import launched_campaign

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEEDS = range(1, 11)
CUSTOMERS = 8000
HISTORY_WEEKS = 8
CAMPAIGN_WEEKS = 4
CATEGORY = "Молочные продукты"
DEPTH_BP = 2500
HOLDOUT_BP = 2000


def _local_midnight(day) -> datetime:
    zone = ZoneInfo(get_settings().retail_timezone)
    return datetime.combine(day, time.min, tzinfo=zone)


def _write_import(market: Market, receipts: pa.Table, folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, table in (("stores", market.stores_table()),
                        ("suppliers", market.suppliers_table()),
                        ("products", market.products_table()),
                        ("customers", market.customers_table()),
                        ("receipts", receipts)):
        write_table(table, folder / f"{name}.parquet", "parquet")


def _world(seed: int, organisation_id: int, folder: Path) -> tuple[int, float]:
    """Simulate, import and launch one world's campaign: (campaign id, true incremental
    units of the treated shoppers during the campaign)."""
    market = Market(customers=CUSTOMERS, weeks=HISTORY_WEEKS, seed=seed)
    products = market.products_table().to_pandas()
    in_category = products[products["category"] == CATEGORY]
    supplier = in_category.groupby("supplier_id").size().idxmax()
    skus = sorted(in_category.loc[in_category["supplier_id"] == supplier, "sku"])
    uses = market.truth_customer_category()
    members = sorted(uses.loc[uses["category"] == CATEGORY, "customer_id"].unique())

    starts_at = _local_midnight(week_start(market.start, HISTORY_WEEKS))
    with session_scope() as db:
        campaign = launched_campaign(
            db, organisation_id=organisation_id, skus=skus, members=members,
            starts_at=starts_at, ends_at=starts_at + timedelta(weeks=CAMPAIGN_WEEKS),
            holdout_bp=HOLDOUT_BP, discount_bp=DEPTH_BP)
        campaign_id = campaign.id
    treated = [customer_id for customer_id in members
               if not in_holdout(campaign_id=campaign_id, customer_id=customer_id,
                                 holdout_bp=HOLDOUT_BP)]
    offers = pd.DataFrame([(customer_id, sku, DEPTH_BP) for customer_id in treated
                           for sku in skus], columns=["customer_id", "sku", "discount_bp"])

    # The campaign's weeks and one after it (which the report must leave out), with the
    # offers in force for the treated shoppers; every category's lines of the campaign's
    # category, other suppliers' SKUs included.
    weeks = pa.concat_tables(market.receipt_tables(HISTORY_WEEKS, CAMPAIGN_WEEKS + 1,
                                                   offers=offers))
    category_skus = pa.array(in_category["sku"].tolist())
    receipts = weeks.filter(pc.is_in(weeks.column("sku"), value_set=category_skus))
    with session_scope() as db:
        db.execute(delete(ReceiptLine))
    _write_import(market, receipts, folder)
    import_folder(folder=folder)

    response = market.respond(offers, HISTORY_WEEKS, CAMPAIGN_WEEKS, tail_weeks=0)
    truth = float((response["units_in_campaign_with"]
                   - response["units_in_campaign_without"]).sum())
    return campaign_id, truth


def test_the_reports_interval_holds_the_true_incremental_units(pg_db, tmp_path):
    with session_scope() as db:
        organisation_id = factories.supplier_org(db).id
    covered, told_apart = [], []
    for seed in SEEDS:
        campaign_id, truth = _world(seed, organisation_id, tmp_path / str(seed))
        with session_scope() as db:
            campaign = db.get(Campaign, campaign_id)
            effect = report.incremental_effect(db=db, campaign=campaign,
                                               now=campaign.ends_at + timedelta(days=30))
        units = effect.incremental_units
        covered.append(units.low <= truth <= units.high)
        told_apart.append(units.low > 0)
        print(f"seed {seed}: truth {truth:.0f}, report {units.estimate:.0f} "
              f"[{units.low:.0f}, {units.high:.0f}]")

    assert sum(covered) >= 9, covered
    assert sum(told_apart) >= 5, told_apart

"""The synthetic market simulator: a grocery retailer's shoppers, their receipts in the
import contract, the hidden truth about them, and their response to personal offers.

    summary = simulate(customers=20_000, weeks=26, seed=7, out=Path("var/market"))
    market = Market.load(Path("var/market"))
    truth = market.truth_customers()
    response = market.respond(offers, start_week=26, weeks=4, tail_weeks=8)
    later = market.receipt_tables(start_week=26, weeks=4)  # the history, continued

The modules, from the world to the files: `catalog` (stores, suppliers, brands, SKUs),
`population` (shoppers and their hidden traits), `calendar` and `promotions` (seasons,
holidays, the retailer's promos), `draws` (common random numbers), `shopping` (one week
of behaviour), `market` (history, truth, response) and `files` (Parquet and CSV).
"""

from retail.simulator.market import DEFAULT_START, Market, SimulationSummary, simulate
from retail.simulator.parameters import MarketParameters

__all__ = ["DEFAULT_START", "Market", "MarketParameters", "SimulationSummary", "simulate"]

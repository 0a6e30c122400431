"""The notebooks run from top to bottom on small data (they explain; nothing imports them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["models.ipynb", "forecast_backtest.ipynb"])
def test_notebook_runs(name, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    for key, value in (("PRICING_NOTEBOOK_CUSTOMERS", "1500"), ("PRICING_NOTEBOOK_WEEKS", "26"),
                       ("PRICING_NOTEBOOK_ROWS", "60000"), ("PRICING_NOTEBOOK_CAMPAIGNS", "3")):
        monkeypatch.setenv(key, os.environ.get(key, value))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS.parent)}})
    client.execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]

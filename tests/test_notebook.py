"""The example notebook runs top to bottom, so it can never rot."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_price_of_fairness_notebook_runs():
    path = EXAMPLES / "network-100-price-of-fairness.ipynb"
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    printed = "".join(o.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", []))
    assert "Justice40 keeps" in printed and "authorities see their abatement change" in printed

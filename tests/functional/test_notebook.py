"""The quick-start notebook runs headless from top to bottom."""

from __future__ import annotations

import pytest

from tests.conftest import REPO

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def test_quickstart_notebook_executes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(REPO / "notebooks" / "quickstart.ipynb", as_version=4)
    # Run in a copy of nothing but the paths it needs: results go under tmp_path.
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = (cell.source.replace("REPO / 'results'", "RESULTS")
                           .replace("ROUNDS = 3", "ROUNDS = 1"))
    notebook.cells.insert(1, nbformat.v4.new_code_cell(f"RESULTS = __import__('pathlib')"
                                                       f".Path({str(tmp_path)!r})"))
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(REPO)}})
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the figure was drawn
    assert (tmp_path / "notebook" / "quickstart" / "summary.json").is_file()


def test_llm_costs_notebook_executes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The cost-only notebook compares the four schemes on OPT-1.3B without training."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("peft")
    notebook = nbformat.read(REPO / "notebooks" / "llm_costs.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = cell.source.replace("RESULTS = REPO / 'results'",
                                              f"RESULTS = Path({str(tmp_path)!r})")
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(REPO)}})
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    for scheme in ("snake", "fedavg", "fedavg-lora", "split"):
        assert (tmp_path / "notebook-llm" / scheme / "summary.json").is_file()

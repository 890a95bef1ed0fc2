"""docs/scenario-keys.md is the generated key reference, and it covers the schema."""

from __future__ import annotations

from typer.testing import CliRunner

from snakesim.cli import app
from snakesim.config import Scenario
from snakesim.config.key_reference import key_reference
from tests.conftest import REPO

DOC = REPO / "docs" / "scenario-keys.md"



def _rows(text: str) -> dict[str, list[str]]:
    """Each reference row's cells (key, type, default, unit, description), by key."""
    return {cells[0].strip("`"): cells for line in text.splitlines()
            if line.startswith("| `")
            for cells in [[c.strip() for c in line.strip("|").split(" | ")]]}


def test_checked_in_reference_is_the_generated_one() -> None:
    assert DOC.read_text(encoding="utf-8") == key_reference(Scenario), (
        "docs/scenario-keys.md is out of date: regenerate it with "
        "`snakesim schema --markdown > docs/scenario-keys.md`")


def test_reference_rows_have_paths_types_defaults_and_units() -> None:
    text = key_reference(Scenario)
    rows = {line.split(" | ")[0].strip("| `"): line for line in text.splitlines()
            if line.startswith("| `")}
    assert "data.text.max_sequences" in rows and "training.rounds" in rows
    assert "| s |" in rows["links.latency"] and "`0.005`" in rows["links.latency"]
    assert "| required |" in rows["strategy"]
    assert "topology (kind: explicit).edges[].latency" in rows  # a list of sections
    assert "meta device" in rows["mode"]  # a field's docstring is its description
    for model in (Scenario,):
        assert all(f"`{name}`" in text for name in model.model_fields)


def test_schema_markdown_command_prints_it() -> None:
    result = CliRunner().invoke(app, ["schema", "--markdown"])
    assert result.exit_code == 0 and result.output == key_reference(Scenario)


def test_every_key_has_a_description() -> None:
    rows = _rows(key_reference(Scenario))
    assert len(rows) > 300 and all(len(cells) == 5 for cells in rows.values())
    missing = sorted(key for key, cells in rows.items()
                     if cells[4] == "—")
    assert not missing, ("keys without a description (add a docstring under the field): "
                         + ", ".join(missing))

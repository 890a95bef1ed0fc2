"""A scheme or a link technology is one module plus one registration call: a user's
own, outside snakesim, is validated (with located errors), checked and run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # a fresh interpreter: registrations must not leak

TOY = '''
"""A toy scheme: every client trains alone, `repeat` times per round."""
from typing import ClassVar, Literal

from pydantic import Field

from snakesim.config.registry import register_link_technology, register_scheme
from snakesim.config.presets import LinkTechnology
from snakesim.config.strategies import WithServer
from snakesim.strategies.local import Local


class ToyStrategy(WithServer):
    display: ClassVar[str] = "Toy Learning"
    implementation: ClassVar[str] = __name__
    name: Literal["toy"]
    repeat: int = Field(default=1, ge=1, le=3)


def build(spec, topology):
    return Local()


register_scheme(ToyStrategy)
register_link_technology("wifi7", LinkTechnology(2e-3, 5e9, None, "Wi-Fi 7, toy figures"))
'''

SCRIPT = '''
import json, sys
import toy_scheme  # the one registration
import snakesim
from snakesim.config import validate_scenario
from snakesim.errors import ScenarioError

from snakesim.network import build_fabric
from snakesim.sim import World

base = json.loads(sys.argv[1])
scenario = validate_scenario(base)
result = snakesim.run(scenario)
print("strategy", result.summary["strategy"], "rounds", len(result.frames["rounds"]))
edges = build_fabric(World(0), scenario).graph.edges(data=True)
print("links", sorted({(d["latency"], d["bandwidth"]) for _, _, d in edges}))
for bad in ({**base, "strategy": {"name": "toy", "repeat": 9}},
            {**base, "strategy": {"name": "toy", "server": "nowhere"}},
            {**base, "topology": {**base["topology"], "tiers": [
                base["topology"]["tiers"][0], {**base["topology"]["tiers"][1],
                                               "link": "wifi9"}]}}):
    try:
        validate_scenario(bad)
    except ScenarioError as error:
        print("refused", str(error).replace(chr(10), " | "))
'''


def test_a_toy_scheme_and_link_technology_run_after_one_registration(tmp_path: Path) -> None:
    (tmp_path / "toy_scheme.py").write_text(TOY)
    scenario = {
        "name": "toy", "seed": 1, "model": {"name": "digits_cnn", "width": 8},
        "training": {"optimizer": "adam", "lr": 0.003, "batch_size": 32,
                     "local_epochs": 1, "rounds": 2},
        "topology": {"kind": "tiered", "tiers": [
            {"name": "ap", "count": 1, "node": "edge"},
            {"name": "dev", "count": 3, "node": "device", "link": "wifi7"}]},
        "strategy": {"name": "toy", "repeat": 2},
    }
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), json.dumps(scenario)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": "/usr/bin:/bin"},
                          check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "strategy toy rounds 3"  # round 0 (the initial model) and 2
    assert lines[1] == "links [(0.002, 5000000000.0)]"  # the registered technology's
    refused = [line for line in lines if line.startswith("refused")]
    assert len(refused) == 3
    assert "strategy.repeat" in refused[0] and "less than or equal to 3" in refused[0]
    assert "strategy.server: unknown node" in refused[1]
    assert "topology.tiers.1.link" in refused[2] and "wifi7" in refused[2]

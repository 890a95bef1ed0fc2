"""Node budgets: spreads, draw order and determinism, the server, overrides."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from snakesim.config import validate_scenario
from snakesim.config.schema import NodesSpec, StarTopology
from snakesim.errors import ConfigurationError
from snakesim.network import NodeAttrs, draw_nodes, to_info
from snakesim.records import NodeInfo
from snakesim.sim import World


def draw(nodes: dict[str, Any], topology: dict[str, Any] | None = None,
         seed: int = 0) -> list[NodeAttrs]:
    scenario = validate_scenario({
        "name": "t", "strategy": {"name": "snake"}, "nodes": nodes,
        "topology": topology or {"kind": "star", "clients": 3}})
    return draw_nodes(scenario.nodes, scenario.topology, World(seed).rng("nodes"))


def column(attrs: list[NodeAttrs], field: str) -> list[float]:
    return [getattr(a, field) for a in attrs if a.role == "client"]


def test_defaults_and_roles_follow_topology_order() -> None:
    attrs = draw({})
    assert [(a.name, a.role) for a in attrs] == [
        ("n1", "client"), ("n2", "client"), ("n3", "client"), ("server", "server")]
    assert attrs[0] == NodeAttrs("n1", "client", 10e9, 4e9, 32e9)
    assert attrs[-1] == NodeAttrs("server", "server", 1e12, 64e9, 1e12)


def test_topology_without_server_has_only_clients() -> None:
    attrs = draw({}, {"kind": "ring", "nodes": 3})
    assert [a.role for a in attrs] == ["client"] * 3
    named = draw({}, {"kind": "line", "nodes": ["a", "b", "c"], "server": "b"})
    assert [a.role for a in named] == ["client", "server", "client"]


def test_draws_are_compute_then_memory_then_storage_for_all_clients() -> None:
    attrs = draw({"compute": {"dist": "uniform", "low": 1e9, "high": 2e9},
                  "memory": {"dist": "lognormal", "median": "1 GB", "sigma": 0.5},
                  "storage": {"dist": "uniform", "low": 1e9, "high": 5e9}}, seed=42)
    rng = World(42).rng("nodes")
    compute = [rng.uniform(1e9, 2e9) for _ in range(3)]
    memory = [1e9 * np.exp(0.5 * rng.standard_normal()) for _ in range(3)]
    storage = [rng.uniform(1e9, 5e9) for _ in range(3)]
    assert column(attrs, "compute_flops_per_s") == pytest.approx(compute, rel=1e-12)
    assert column(attrs, "memory_bytes") == pytest.approx(memory, rel=1e-12)
    assert column(attrs, "storage_bytes") == pytest.approx(storage, rel=1e-12)


def test_same_seed_same_nodes_other_seed_other_nodes() -> None:
    spec = {"compute": {"dist": "lognormal", "median": "10 GFLOPS", "sigma": 1.0}}
    assert draw(spec, seed=3) == draw(spec, seed=3)
    assert draw(spec, seed=3) != draw(spec, seed=4)


def test_fixed_and_listed_spreads() -> None:
    attrs = draw({"compute": {"dist": "fixed", "value": "5 GFLOPS"},
                  "memory": {"dist": "list", "values": ["1 GB", "2 GB", "3 GB"]}})
    assert column(attrs, "compute_flops_per_s") == [5e9] * 3
    assert column(attrs, "memory_bytes") == [1e9, 2e9, 3e9]


def test_server_fields_left_out_follow_the_client_rule() -> None:
    attrs = draw({"compute": {"dist": "uniform", "low": 1.0, "high": 2.0}, "memory": "3 GB",
                  "server": {"storage": "1 TB"}}, seed=5)
    rng = World(5).rng("nodes")
    rng.uniform(1.0, 2.0, size=3)  # the clients' compute draws come first
    server = attrs[-1]
    assert server.compute_flops_per_s == pytest.approx(rng.uniform(1.0, 2.0), rel=1e-12)
    assert (server.memory_bytes, server.storage_bytes) == (3e9, 1e12)


def test_server_cannot_take_a_value_from_a_per_client_list() -> None:
    with pytest.raises(ConfigurationError, match=r"nodes\.server\.memory"):
        draw({"memory": {"dist": "list", "values": [1, 2, 3]}, "server": {"compute": 1e12}})


def test_overrides_replace_only_the_fields_they_set() -> None:
    attrs = draw({"compute": {"dist": "uniform", "low": 1.0, "high": 2.0},
                  "overrides": {"n2": {"memory": "8 GB"}, "server": {"compute": "1 PFLOPS"}}})
    plain = draw({"compute": {"dist": "uniform", "low": 1.0, "high": 2.0}})
    assert attrs[1] == NodeAttrs("n2", "client", plain[1].compute_flops_per_s, 8e9, 32e9)
    assert attrs[-1].compute_flops_per_s == 1e15
    assert attrs[-1].memory_bytes == 64e9
    assert attrs[0] == plain[0]


def test_unknown_override_and_short_list_are_errors() -> None:
    topology = StarTopology(kind="star", clients=2)
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigurationError, match=r"nodes\.overrides\.zz: unknown node"):
        draw_nodes(NodesSpec.model_validate({"overrides": {"zz": {"compute": 1}}}),
                   topology, rng)
    with pytest.raises(ConfigurationError, match=r"nodes\.storage\.values"):
        draw_nodes(NodesSpec.model_validate({"storage": {"dist": "list", "values": [1]}}),
                   topology, rng)


def test_to_info() -> None:
    info = to_info(NodeAttrs("a", "server", 1.0, 2.0, 3.0))
    assert info == NodeInfo(node="a", role="server", compute_flops_per_s=1.0,
                            memory_bytes=2.0, storage_bytes=3.0)

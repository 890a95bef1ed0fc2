"""Topology builders: edges of every kind, link attributes, overrides and errors."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest

from snakesim.config import validate_scenario
from snakesim.config.schema import ExplicitTopology, LineTopology, LinksSpec
from snakesim.errors import ConfigurationError, ScenarioError
from snakesim.network import build_graph

LAT, BW = 0.005, 100e6


def graph_of(topology: dict[str, Any], links: dict[str, Any] | None = None) -> nx.Graph:
    scenario = validate_scenario({"name": "t", "strategy": {"name": "snake"},
                                  "topology": topology, "links": links or {}})
    return build_graph(scenario.topology, scenario.links)


def edges(graph: nx.Graph) -> set[frozenset[str]]:
    return {frozenset(e) for e in graph.edges}


def pairs(*names: tuple[str, str]) -> set[frozenset[str]]:
    return {frozenset(p) for p in names}


def test_star_links_the_server_to_each_client() -> None:
    graph = graph_of({"kind": "star", "clients": 3, "server": "hub"})
    assert list(graph.nodes) == ["n1", "n2", "n3", "hub"]
    assert edges(graph) == pairs(("hub", "n1"), ("hub", "n2"), ("hub", "n3"))


def test_line_links_consecutive_nodes() -> None:
    graph = graph_of({"kind": "line", "nodes": ["a", "c", "b"]})
    assert list(graph.nodes) == ["a", "c", "b"]
    assert edges(graph) == pairs(("a", "c"), ("c", "b"))


def test_ring_closes_the_line() -> None:
    graph = graph_of({"kind": "ring", "nodes": 4})
    assert edges(graph) == pairs(("n1", "n2"), ("n2", "n3"), ("n3", "n4"), ("n4", "n1"))


def test_mesh_links_every_pair() -> None:
    graph = graph_of({"kind": "mesh", "nodes": 5})
    assert list(graph.nodes) == ["n1", "n2", "n3", "n4", "n5"]
    assert graph.number_of_edges() == 10
    assert all(graph.has_edge(u, v) for u in graph for v in graph if u != v)


def test_every_edge_carries_float_defaults() -> None:
    graph = graph_of({"kind": "ring", "nodes": 3}, {"latency": "2 ms", "bandwidth": "1 Gbps"})
    for _, _, data in graph.edges(data=True):
        assert data == {"latency": 0.002, "bandwidth": 1e9, "energy_per_bit": 0.0}
        assert all(isinstance(v, float) for v in data.values())


def test_explicit_edges_override_the_defaults() -> None:
    graph = graph_of({"kind": "explicit", "nodes": ["a", "b", "c"], "edges": [
        {"between": ["a", "b"], "latency": "1 ms"},
        {"between": ["b", "c"], "bandwidth": "10 Mbps"},
        {"between": ["c", "a"]}]})
    assert graph.edges["a", "b"] == {"latency": 0.001, "bandwidth": BW, "energy_per_bit": 0.0}
    assert graph.edges["b", "c"] == {"latency": LAT, "bandwidth": 10e6, "energy_per_bit": 0.0}
    assert graph.edges["a", "c"] == {"latency": LAT, "bandwidth": BW, "energy_per_bit": 0.0}


def test_link_overrides_set_existing_links() -> None:
    graph = graph_of({"kind": "line", "nodes": 3}, {"overrides": [
        {"between": ["n2", "n1"], "latency": "20 ms"},
        {"between": ["n2", "n3"], "bandwidth": "1 Mbps", "latency": 0}]})
    assert graph.edges["n1", "n2"] == {"latency": 0.02, "bandwidth": BW, "energy_per_bit": 0.0}
    assert graph.edges["n2", "n3"] == {"latency": 0.0, "bandwidth": 1e6, "energy_per_bit": 0.0}


def test_override_of_an_unlinked_pair_is_an_error() -> None:
    with pytest.raises(ConfigurationError,
                       match=r"^links\.overrides\.1\.between: nodes n1 and n3 are not linked$"):
        graph_of({"kind": "line", "nodes": 3}, {"overrides": [
            {"between": ["n1", "n2"], "latency": 0}, {"between": ["n1", "n3"], "latency": 0}]})


def test_override_of_an_unknown_node_is_an_error() -> None:
    links = LinksSpec.model_validate({"overrides": [{"between": ["n1", "zz"], "latency": 0}]})
    topology = LineTopology(kind="line", nodes=2)
    with pytest.raises(ConfigurationError, match=r"links\.overrides\.0\.between: unknown node"):
        build_graph(topology, links)


def test_disconnected_explicit_topology_names_unreachable_nodes() -> None:
    topology = {"kind": "explicit", "nodes": ["a", "b", "c", "d"],
                "edges": [{"between": ["a", "b"]}, {"between": ["c", "d"]}]}
    # Refused by the validator, and by the builder for a spec that skipped it.
    with pytest.raises(ScenarioError, match=r"topology\.edges: nodes c, d are not reachable"):
        graph_of(topology)
    with pytest.raises(ConfigurationError, match=r"nodes c, d are not reachable from a"):
        build_graph(ExplicitTopology.model_validate(topology), LinksSpec())


def test_single_node_explicit_topology_is_connected() -> None:
    topology = ExplicitTopology(kind="explicit", nodes=["solo"])
    assert list(build_graph(topology, LinksSpec()).nodes) == ["solo"]


@pytest.mark.parametrize(("edge_list", "message"), [
    ([["a", "b"], ["b", "a"]], r"topology\.edges\.1\.between: nodes b and a are already "
                               r"linked by topology\.edges\.0"),
    ([["a", "x"]], r"topology\.edges\.0\.between: unknown node \(got x\)"),
    ([["a", "a"]], r"topology\.edges\.0\.between: a link needs two different nodes"),
])
def test_bad_explicit_edges_are_errors(edge_list: list[list[str]], message: str) -> None:
    topology = ExplicitTopology.model_validate(
        {"kind": "explicit", "nodes": ["a", "b"], "edges": [{"between": e} for e in edge_list]})
    with pytest.raises(ConfigurationError, match=message):
        build_graph(topology, LinksSpec())

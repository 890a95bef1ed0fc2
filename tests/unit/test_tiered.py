"""Tiered topologies and technology presets."""

from __future__ import annotations

from typing import Any

import pytest

from snakesim.config import validate_scenario
from snakesim.config.presets import LINKS, NODES
from snakesim.config.schema import client_names, node_names
from snakesim.errors import ConfigurationError
from snakesim.network import build_graph, draw_nodes
from snakesim.sim import World

TIERS = [{"name": "cloud", "count": 1, "node": "cloud"},
         {"name": "edge", "count": 2, "node": "edge", "link": "optical"},
         {"name": "bs", "count": 2, "link": "optical", "links": {"bs4": "leo"}},
         {"name": "dev", "count": 3, "node": "device", "link": "mmwave",
          "latency": "4 ms"}]


def scenario(**nodes: Any) -> Any:
    return validate_scenario({"name": "t", "strategy": {"name": "fedavg"},
                              "topology": {"kind": "tiered", "tiers": TIERS},
                              "nodes": nodes})


def test_names_roles_and_tree_shape() -> None:
    s = scenario()
    names = node_names(s.topology)
    assert names[:7] == ["cloud1", "edge1", "edge2", "bs1", "bs2", "bs3", "bs4"]
    assert len(names) == 1 + 2 + 4 + 12
    assert client_names(s.topology) == [f"dev{i}" for i in range(1, 13)]
    assert s.topology.server == "cloud1"
    graph = build_graph(s.topology, s.links)
    assert graph.number_of_edges() == len(names) - 1  # a tree
    assert set(graph.adj["bs2"]) == {"edge1", "dev4", "dev5", "dev6"}


def test_link_presets_and_overrides() -> None:
    s = scenario()
    graph = build_graph(s.topology, s.links)
    optical, leo, mmwave = LINKS["optical"], LINKS["leo"], LINKS["mmwave"]
    assert graph.edges["cloud1", "edge2"]["bandwidth"] == optical.bandwidth_bps
    assert graph.edges["edge2", "bs4"]["latency"] == leo.latency_s  # the exception
    assert graph.edges["edge2", "bs4"]["outage"] == leo.outage
    assert graph.edges["edge2", "bs3"]["technology"] == "optical"
    dev = graph.edges["bs1", "dev1"]
    assert dev["latency"] == 0.004 and dev["bandwidth"] == mmwave.bandwidth_bps
    assert dev["outage"] == mmwave.outage


def test_node_presets_apply_unless_the_scenario_writes_the_attribute() -> None:
    nodes = {n.name: n for n in draw_nodes(scenario().nodes, scenario().topology,
                                           World(0).rng("nodes"))}
    assert nodes["cloud1"].role == "server"
    assert nodes["edge1"].role == "relay" and nodes["bs1"].role == "relay"
    assert nodes["dev1"].role == "client"
    assert nodes["edge1"].compute_flops_per_s == NODES["edge"].compute_flops_per_s
    assert nodes["dev7"].memory_bytes == NODES["device"].memory_bytes
    s = scenario(memory="1 MB")
    written = {n.name: n for n in draw_nodes(s.nodes, s.topology, World(0).rng("nodes"))}
    assert written["dev7"].memory_bytes == 1e6  # written for clients: wins over the preset
    assert written["dev7"].compute_flops_per_s == NODES["device"].compute_flops_per_s


def test_unknown_exception_node_is_an_error() -> None:
    tiers = [*TIERS[:2], {**TIERS[2], "links": {"bs9": "leo"}}, TIERS[3]]
    s = validate_scenario({"name": "t", "strategy": {"name": "fedavg"},
                           "topology": {"kind": "tiered", "tiers": tiers}})
    with pytest.raises(ConfigurationError, match=r"topology\.tiers\.2\.links: .*bs9"):
        build_graph(s.topology, s.links)


def test_mmwave_blockage_happens_and_follows_the_seed() -> None:
    from snakesim.network import build_fabric
    from snakesim.network.outages import OutageController

    def outages(seed: int) -> list[tuple[str, float]]:
        world = World(seed)
        s = scenario()
        fabric = build_fabric(world, s)
        OutageController(world, fabric, s.outages)
        world.env.run(until=120)
        return [(o.element, round(o.start_s, 6)) for o in world.ledger.outages]

    first = outages(1)
    assert any(e.startswith("link bs") and "dev" in e for e, _ in first)
    assert first == outages(1) and first != outages(2)


# ------------------------------------------------------------------- geometric
def geometric(seed: int, **topology: Any) -> Any:
    from snakesim.network import build_fabric

    s = validate_scenario({"name": "g", "strategy": {"name": "snake"},
                           "links": {"latency": "1 ms"},
                           "topology": {"kind": "geometric", "nodes": 15, "radius": 450,
                                        **topology}})
    return build_fabric(World(seed), s).graph


def test_geometric_graph_is_seeded_connected_and_latency_follows_distance() -> None:
    import math

    import networkx as nx

    graph = geometric(1)
    assert nx.is_connected(graph) and len(graph) == 15
    assert nx.utils.graphs_equal(graph, geometric(1))
    assert not nx.utils.graphs_equal(graph, geometric(2))
    for u, v, data in graph.edges(data=True):
        distance = math.dist(graph.nodes[u]["pos"], graph.nodes[v]["pos"])
        assert distance <= 450
        assert data["latency"] == pytest.approx(1e-3 + distance / 2e8)


def test_geometric_radius_too_small_is_a_located_error() -> None:
    with pytest.raises(ConfigurationError, match=r"topology\.radius: .*raise the radius"):
        geometric(1, radius=1)


# ------------------------------------------------------------------ topology files
@pytest.mark.slow
def test_graphml_and_node_link_files_map_attributes(tmp_path: Any) -> None:
    import json

    import networkx as nx

    from snakesim.experiments import run_scenario

    g = nx.Graph()
    g.add_edge("hub", "a", delay=2.0, cap=100)
    g.add_edge("hub", "b", delay=4.0, cap=50)
    g.add_edge("a", "b", delay=1.0, cap=10)
    nx.write_graphml(g, tmp_path / "net.graphml")
    (tmp_path / "net.json").write_text(json.dumps(nx.node_link_data(g, edges="links")))
    for name in ("net.graphml", "net.json"):
        data = {"name": "f", "strategy": {"name": "fedavg"},
                "model": {"name": "digits_cnn", "width": 4},
                "training": {"rounds": 1},
                "topology": {"kind": "file", "path": str(tmp_path / name), "server": "hub",
                             "latency": {"attribute": "delay", "unit": "ms"},
                             "bandwidth": {"attribute": "cap", "unit": "Mbps"}}}
        s = validate_scenario(data)
        graph = build_graph(s.topology, s.links)
        assert graph.edges["hub", "b"]["latency"] == pytest.approx(4e-3)
        assert graph.edges["a", "b"]["bandwidth"] == pytest.approx(10e6)
        assert client_names(s.topology) == ["a", "b"]
        result = run_scenario(s)
        assert set(result.frames["transfers"]["dst"]) == {"a", "b", "hub"}


def test_topology_file_errors_are_located(tmp_path: Any) -> None:
    import networkx as nx

    from snakesim.errors import ScenarioError

    missing = {"name": "f", "strategy": {"name": "snake"},
               "topology": {"kind": "file", "path": str(tmp_path / "none.graphml")}}
    with pytest.raises(ScenarioError, match=r"topology\.path: no such file"):
        validate_scenario(missing)
    g = nx.Graph()
    g.add_edge("a", "b", delay=1.0)
    g.add_edge("b", "c")
    nx.write_graphml(g, tmp_path / "net.graphml")
    # The mapping is checked against every link of the file at validate time.
    with pytest.raises(ScenarioError, match=r"topology\.latency\.attribute: link b-c "
                                            r"has no 'delay'"):
        validate_scenario({"name": "f", "strategy": {"name": "snake"},
                           "topology": {"kind": "file", "path": str(tmp_path / "net.graphml"),
                                        "latency": {"attribute": "delay"}}})

"""Topology files as they come: real backbone maps with distances, coordinates, labels.

The maps under ``tests/data/topologies`` are topohub's files copied verbatim (Abilene,
GÉANT 2012 from the Internet Topology Zoo, germany50 from SNDlib); see its README.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from snakesim.cli import app
from snakesim.config import validate_scenario
from snakesim.config.checks import scenario_warnings
from snakesim.config.file_links import link_bandwidth
from snakesim.config.geodesy import EARTH_RADIUS_M, great_circle_m
from snakesim.config.schema import FileAttribute, client_names, node_names
from snakesim.errors import ConfigurationError, ScenarioError
from snakesim.network import build_graph, draw_nodes
from snakesim.sim import World
from snakesim.units import UNITS, Dimension, parse_quantity
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "topologies"
ABILENE = str(DATA / "topozoo" / "Abilene.json")
ABILENE_GRAPHML = str(DATA / "topozoo" / "Abilene.graphml")
GEANT = str(DATA / "topozoo" / "Geant2012.json")
GERMANY50 = str(DATA / "sndlib" / "germany50.json")


def scenario(path: str, **topology: Any) -> Any:
    # Local training needs no server, so any node of the file may be left unnamed.
    return validate_scenario({"name": "t", "strategy": {"name": "local"},
                              "topology": {"kind": "file", "path": path, **topology}})


def refusal(path: str, **topology: Any) -> str:
    with pytest.raises(ScenarioError) as info:
        scenario(path, **topology)
    return str(info.value)


def edges_of(path: str) -> list[dict[str, Any]]:
    edges: list[dict[str, Any]] = json.loads(Path(path).read_text())["edges"]
    return edges


# ------------------------------------------------------------- latency from distances
def test_a_real_zoo_map_gets_latencies_from_its_link_lengths() -> None:
    s = scenario(ABILENE, latency={"attribute": "dist", "unit": "km"}, server="7")
    graph = build_graph(s.topology, s.links)
    # New York (0) - Chicago (1) is 1146.16 km in the file: 1 146 160 m / 2e8 m/s.
    assert graph.edges["0", "1"]["latency"] == pytest.approx(1146.16e3 / 2e8, rel=1e-12)
    for edge in edges_of(ABILENE):
        assert graph.edges[edge["source"], edge["target"]]["latency"] == pytest.approx(
            edge["dist"] * 1e3 / 2e8, rel=1e-12)


@pytest.mark.parametrize(("unit", "speed", "factor"),
                         [("km", "2e8 m/s", 1e3), ("m", 2e8, 1.0), ("mi", "200000 km/s",
                                                                     1609.344)])
def test_distance_units_and_speeds_convert(unit: str, speed: object, factor: float) -> None:
    s = scenario(ABILENE, latency={"attribute": "dist", "unit": unit,
                                   "propagation_speed": speed})
    graph = build_graph(s.topology, s.links)
    assert graph.edges["0", "2"]["latency"] == pytest.approx(328.58 * factor / 2e8)


def test_a_slower_medium_gives_proportionally_longer_latencies() -> None:
    fibre = build_graph(*_parts(scenario(GERMANY50, latency={"attribute": "dist",
                                                             "unit": "km"})))
    copper = build_graph(*_parts(scenario(GERMANY50, latency={
        "attribute": "dist", "unit": "km", "propagation_speed": "1e8 m/s"})))
    for u, v, data in fibre.edges(data=True):
        assert copper.edges[u, v]["latency"] == pytest.approx(2 * data["latency"])


def _parts(s: Any) -> tuple[Any, Any]:
    return s.topology, s.links


def test_a_time_unit_keeps_meaning_a_latency_attribute(tmp_path: Path) -> None:
    g = nx.Graph()
    g.add_edge("a", "b", delay=3)
    g.add_edge("b", "c", delay="250 us")  # a string's own unit wins
    nx.write_graphml(g, tmp_path / "net.graphml")
    s = scenario(str(tmp_path / "net.graphml"), latency={"attribute": "delay", "unit": "ms"})
    graph = build_graph(s.topology, s.links)
    assert graph.edges["a", "b"]["latency"] == pytest.approx(3e-3)
    assert graph.edges["b", "c"]["latency"] == pytest.approx(250e-6)


# ------------------------------------------------------------ latency from coordinates
def test_great_circle_matches_known_city_distances() -> None:
    # Paris - London: 343.5 km; New York - Los Angeles: 3936 km (great circle, the
    # figures geodesy references give for these city-centre coordinates).
    assert great_circle_m(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5e3,
                                                                                rel=0.01)
    assert great_circle_m(40.7128, -74.0060, 34.0522, -118.2437) == pytest.approx(
        3936e3, rel=0.01)


def test_coordinates_give_the_lengths_topohub_computed() -> None:
    # topohub's `dist` comes from the original coordinates (its own haversine); ours from
    # the rounded `pos` in the file: within 1 % on every link of three real maps.
    for path in (ABILENE, GEANT, GERMANY50):
        s = scenario(path, latency={"coordinates": {}})
        graph = build_graph(s.topology, s.links)
        for edge in edges_of(path):
            metres = graph.edges[str(edge["source"]), str(edge["target"])]["latency"] * 2e8
            assert metres == pytest.approx(edge["dist"] * 1e3, rel=0.01), (path, edge)


def test_graphml_zoo_names_and_coordinates_are_the_defaults() -> None:
    s = scenario(ABILENE_GRAPHML, latency={"coordinates": {}}, names={"attribute": "label"},
                 server="Kansas City")
    graph = build_graph(s.topology, s.links)
    from_json = build_graph(*_parts(scenario(ABILENE, latency={"coordinates": {}},
                                             names={"attribute": "name"})))
    assert node_names(s.topology)[:2] == ["New York", "Chicago"]
    assert nx.utils.edges_equal(graph.edges, from_json.edges)
    assert graph.edges["New York", "Chicago"]["latency"] == pytest.approx(
        from_json.edges["New York", "Chicago"]["latency"])


@given(st.floats(-90, 90), st.floats(-180, 180), st.floats(-90, 90), st.floats(-180, 180))
def test_great_circle_is_a_bounded_symmetric_distance(lat1: float, lon1: float,
                                                       lat2: float, lon2: float) -> None:
    d = great_circle_m(lat1, lon1, lat2, lon2)
    assert 0 <= d <= math.pi * EARTH_RADIUS_M * (1 + 1e-12)
    assert d == pytest.approx(great_circle_m(lat2, lon2, lat1, lon1), abs=1e-6)
    assert great_circle_m(lat1, lon1, lat1, lon1) == 0


@pytest.mark.parametrize(("nodes", "match"), [
    ([{"id": "a", "pos": [1.0, 2.0]}, {"id": "b"}],
     r"topology\.latency\.coordinates: node b has no 'pos' nor both 'Latitude' and "
     r"'Longitude' \(it has no attributes\)"),
    ([{"id": "a", "pos": [1.0, 2.0]}, {"id": "b", "pos": [1.0, 95.0]}],
     r"node b: latitude must be a number of degrees in \[-90, 90\] \(got 95\.0\)"),
    ([{"id": "a", "pos": [1.0, 2.0]}, {"id": "b", "pos": "north"}],
     r"coordinates\.pair: node b: 'pos' must be \[longitude, latitude\]"),
])
def test_bad_coordinates_are_located(tmp_path: Path, nodes: list[Any], match: str) -> None:
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"nodes": nodes, "links": [{"source": "a", "target": "b"}]}))
    with pytest.raises(ScenarioError, match=match):
        scenario(str(path), latency={"coordinates": {}})


@pytest.mark.parametrize(("latency", "match"), [
    ({"attribute": "dist", "coordinates": {}}, "needs exactly one of attribute"),
    ({}, "needs exactly one of attribute"),
    ({"coordinates": {}, "unit": "km"}, "unit applies to an edge attribute"),
    ({"attribute": "dist", "unit": "km", "propagation_speed": "4e8 m/s"},
     r"propagation_speed: must be at most 2\.99792e\+08 m/s"),
])
def test_latency_mapping_rules_are_located(latency: dict[str, Any], match: str) -> None:
    message = refusal(ABILENE, latency=latency)
    assert "topology.latency" in message and re.search(match, message), message


# ---------------------------------------------------------------------- units checked
@pytest.mark.parametrize(("key", "mapping", "rule"), [
    ("latency", {"attribute": "dist", "unit": "kg"}, "not a time or distance unit"),
    ("latency", {"attribute": "dist", "unit": "Mbps"}, "not a time or distance unit"),
    ("bandwidth", {"attribute": "dist", "unit": "km"}, "not a bandwidth unit"),
])
def test_a_unit_of_the_wrong_kind_is_refused_at_validate(key: str, mapping: dict[str, Any],
                                                         rule: str) -> None:
    message = refusal(ABILENE, **{key: mapping})
    assert f"topology.{key}.unit: {rule}" in message and f"(got {mapping['unit']})" in message
    assert message.count("\n") == 0


def test_a_distance_unit_was_a_run_time_failure_and_now_runs() -> None:
    s = scenario(ABILENE, latency={"attribute": "dist", "unit": "km"})
    assert min(d["latency"] for _, _, d in build_graph(s.topology, s.links).edges(
        data=True)) == pytest.approx(263.40e3 / 2e8)


# ------------------------------------------------------------------ bandwidth strings
def _file(tmp_path: Path, capacity: object) -> str:
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"nodes": [{"id": "a"}, {"id": "b"}],
                                "links": [{"source": "a", "target": "b", "cap": capacity}]}))
    return str(path)


@pytest.mark.parametrize(("capacity", "unit", "expected"), [
    ("10 Gbps", "bps", 10e9),      # the old failure: "unknown bandwidth unit 'Gbps bps'"
    ("10 Gbps", "Mbps", 10e9),     # the value's own unit wins over `unit`
    ("10 Gbps", None, 10e9),
    ("622", "Mbps", 622e6),        # a numeric string is a plain number
    (622, "Mbps", 622e6),
    (2.5e9, None, 2.5e9),
    ("1.25 GB/s", "Mbps", 10e9),
])
def test_bandwidth_strings_carry_their_own_units(tmp_path: Path, capacity: object,
                                                 unit: str | None, expected: float) -> None:
    s = scenario(_file(tmp_path, capacity), bandwidth={"attribute": "cap", "unit": unit},
                 server="a")
    assert build_graph(s.topology, s.links).edges["a", "b"]["bandwidth"] == pytest.approx(
        expected)


@pytest.mark.parametrize(("capacity", "match"), [
    ("10 ms", r"must be a number or a bandwidth quantity such as '10 Gbps' \(got '10 ms'\)"),
    ("fast", r"must be a number or a bandwidth quantity"),
    (0, r"must be at least 1 bps \(got 0\)"),
    (-5, r"bandwidth must be in \[0, 1e\+15\] bps \(got -5\)"),
    (True, r"must be a number or a bandwidth quantity"),
])
def test_bad_bandwidth_values_are_located(tmp_path: Path, capacity: object,
                                          match: str) -> None:
    message = refusal(_file(tmp_path, capacity), bandwidth={"attribute": "cap",
                                                            "unit": "Mbps"})
    assert "topology.bandwidth.attribute: link a-b: " in message
    assert re.search(match, message), message


@given(st.floats(0, 1e5, allow_subnormal=False),
       st.sampled_from(sorted(UNITS[Dimension.BANDWIDTH])))
def test_a_plain_number_with_a_unit_equals_the_string_with_it(number: float,
                                                              unit: str) -> None:
    expected = parse_quantity(f"{number!r} {unit}", Dimension.BANDWIDTH)
    mapping = FileAttribute(attribute="cap", unit=unit)
    try:
        plain = link_bandwidth(mapping, {"cap": number}, "a", "b", 1.0)
        written = link_bandwidth(mapping, {"cap": f"{number!r} {unit}"}, "a", "b", 1.0)
    except ConfigurationError:
        # Out of the physical range (under 1 bit/s, over 1 Pbit/s): both forms agree.
        assert not 1 <= expected <= 1e15
        return
    assert plain == pytest.approx(expected) and written == pytest.approx(expected)


@given(st.floats(-1e6, 1e6, allow_subnormal=False), st.sampled_from(["m", "km", "mi"]))
def test_distance_units_scale_linearly(number: float, unit: str) -> None:
    metres = parse_quantity(f"{number!r} {unit}", Dimension.DISTANCE)
    assert metres == pytest.approx(number * {"m": 1, "km": 1e3, "mi": 1609.344}[unit])
    assert parse_quantity(f"{metres!r} m", Dimension.DISTANCE) == pytest.approx(metres)


# ------------------------------------------------------------------------- node names
def test_labels_name_the_nodes_and_every_reference_uses_them() -> None:
    s = validate_scenario({
        "name": "t", "strategy": {"name": "fedavg"},
        "topology": {"kind": "file", "path": GEANT, "names": {"attribute": "name"},
                     "latency": {"attribute": "dist", "unit": "km"}, "server": "DE"},
        "links": {"bandwidth": "10 Gbps",
                  "overrides": [{"between": ["DE", "NL"], "bandwidth": "1 Gbps"}]},
        "nodes": {"overrides": {"FR": {"compute": "50 GFLOPS"}}}})
    names = node_names(s.topology)
    assert len(names) == 37 and {"DE", "NL", "FR", "UK"} <= set(names)
    graph = build_graph(s.topology, s.links)
    assert graph.edges["DE", "NL"]["bandwidth"] == 1e9
    nodes = {n.name: n for n in draw_nodes(s.nodes, s.topology, World(1).rng("nodes"))}
    assert nodes["DE"].role == "server" and nodes["FR"].compute_flops_per_s == 50e9


@pytest.mark.parametrize(("names", "match"), [
    ([{"id": "1", "name": "X"}, {"id": "2", "name": "X"}],
     r"topology\.names\.attribute: .*nodes 1 and 2 are both named 'X'; names must be "
     r"unique \(got X\)"),
    ([{"id": "1", "name": "X"}, {"id": "2"}],
     r"topology\.names\.attribute: .*node 2 has no usable 'name' \(got nothing\)"),
    ([{"id": "1", "name": "X"}, {"id": "2", "name": "  "}],
     r"node 2 has no usable 'name'"),
])
def test_duplicate_or_missing_labels_are_located(tmp_path: Path, names: list[Any],
                                                 match: str) -> None:
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"nodes": names, "links": [{"source": "1", "target": "2"}]}))
    with pytest.raises(ScenarioError, match=match):
        scenario(str(path), names={"attribute": "name"})


def test_a_server_named_by_id_is_unknown_once_labels_name_the_nodes() -> None:
    assert "topology.server: must name one of topology.nodes (got 7)" in refusal(
        ABILENE, names={"attribute": "name"}, server="7")


# ----------------------------------------------------------------------------- relays
def test_listed_relays_forward_but_hold_no_data_and_train_nothing() -> None:
    s = scenario(ABILENE, names={"attribute": "name"}, server="Kansas City",
                 relays=["Denver", "Indianapolis"])
    clients = client_names(s.topology)
    assert len(clients) == 8 and not {"Denver", "Indianapolis", "Kansas City"} & set(clients)
    roles = {n.name: n.role for n in draw_nodes(s.nodes, s.topology, World(1).rng("nodes"))}
    assert roles["Denver"] == roles["Indianapolis"] == "relay"
    assert roles["Kansas City"] == "server" and roles["Seattle"] == "client"


def test_relays_by_attribute(tmp_path: Path) -> None:
    g = nx.Graph()
    g.add_node("core", Internal=1)
    for leaf in ("a", "b", "c"):
        g.add_node(leaf, Internal=0)
        g.add_edge("core", leaf)
    g.add_edge("a", "hub")
    nx.write_graphml(g, tmp_path / "net.graphml")
    s = scenario(str(tmp_path / "net.graphml"), server="hub",
                 relays={"attribute": "Internal", "equals": 1})
    assert client_names(s.topology) == ["a", "b", "c"]
    s = scenario(str(tmp_path / "net.graphml"), server="hub",
                 relays={"attribute": "Internal", "equals": "1"})  # text matches a number
    assert client_names(s.topology) == ["a", "b", "c"]


@pytest.mark.parametrize(("relays", "server", "match"), [
    (["Denver", "Atlantis"], "Kansas City", r"topology\.relays\.1: unknown node "
                                            r"\(got Atlantis\)"),
    (["Kansas City"], "Kansas City", r"topology\.relays: must not hold the server"),
    ({"attribute": "role", "equals": "core"}, None, r"topology\.relays: no node of .* has "
                                                     r"'role' equal to 'core'"),
])
def test_relay_mistakes_are_located(relays: Any, server: str | None, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        scenario(ABILENE, names={"attribute": "name"}, server=server, relays=relays)


# --------------------------------------------------------------------------- warnings
def test_a_file_without_latency_or_bandwidth_warns_about_the_defaults() -> None:
    lines = scenario_warnings(scenario(ABILENE))
    assert len(lines) == 2
    assert lines[0].startswith(f"topology.latency: {ABILENE} gives no latency, so every "
                               "link gets links.latency (5 ms); its links carry dist, ")
    assert lines[1].startswith("topology.bandwidth: ") and "(100 Mbps)" in lines[1]
    mapped = scenario(ABILENE, latency={"attribute": "dist", "unit": "km"})
    assert [line.split(":")[0] for line in scenario_warnings(mapped)] == [
        "topology.bandwidth"]


def test_a_default_written_in_links_is_not_warned_about() -> None:
    s = validate_scenario({"name": "t", "strategy": {"name": "fedavg"},
                           "topology": {"kind": "file", "path": ABILENE, "server": "0"},
                           "links": {"latency": "5 ms", "bandwidth": "10 Gbps"}})
    assert scenario_warnings(s) == []


def test_the_cli_prints_the_warning_on_validate(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "strategy": {"name": "fedavg"},
                                    "topology": {"kind": "file", "path": ABILENE,
                                                 "server": "0"}}))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"warning: {path}: topology.latency: {ABILENE} gives no latency" in result.output
    assert f"{path}: ok" in result.output


def test_the_shipped_abilene_scenario_validates_without_warnings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from snakesim.config import load_scenario

    monkeypatch.chdir(REPO)  # its topology path is relative to the repository root
    s = load_scenario(REPO / "scenarios" / "abilene.yaml")
    assert scenario_warnings(s) == []
    assert len(client_names(s.topology)) == 8


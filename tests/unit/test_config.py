"""Tests of scenario loading: YAML -> frozen `Scenario`, or one located line per problem."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snakesim.config import Scenario, load_scenario, validate_scenario
from snakesim.config.schema import (
    DirichletPartition,
    ExplicitTopology,
    Listed,
    LogNormal,
    RingTopology,
    StarTopology,
    Uniform,
)
from snakesim.config.strategies import SnakeStrategy
from snakesim.errors import ScenarioError, SnakesimError

MINIMAL = """\
name: minimal
strategy: {name: snake}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    error = info.value
    # One line per problem, each starting with the file name.
    lines = str(error).splitlines()
    assert len(lines) == len(error.problems)
    assert all(line.startswith(str(path)) for line in lines)
    return error


def error_lines(tmp_path: Path, text: str) -> list[str]:
    """Load ``text`` as a scenario file that must fail; its error lines, file name cut."""
    path = write(tmp_path, text)
    error = load_error(path)
    prefix = f"{path}: "
    lines = str(error).splitlines()
    assert all(line.startswith(prefix) for line in lines)
    return [line[len(prefix):] for line in lines]


def one_line(tmp_path: Path, text: str) -> str:
    lines = error_lines(tmp_path, text)
    assert len(lines) == 1, lines
    return lines[0]


# ------------------------------------------------------------------------- valid files
def test_minimal_scenario_fills_defaults(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, MINIMAL))
    assert isinstance(scenario, Scenario)
    assert scenario.name == "minimal"
    assert scenario.description == ""
    assert scenario.seed == 0
    assert scenario.strategy == SnakeStrategy(name="snake")
    assert scenario.strategy.mode == "p2p"
    assert scenario.strategy.route is None
    assert scenario.topology == StarTopology(kind="star", clients=6, server="server")
    assert scenario.data.dataset == "digits"
    assert scenario.data.test_fraction == 0.25
    assert scenario.data.partition.kind == "iid"
    assert scenario.model.name == "digits_cnn"
    assert scenario.training.rounds == 10
    assert scenario.training.optimizer == "sgd"
    assert scenario.nodes.compute == 10e9
    assert scenario.nodes.memory == 4e9
    assert scenario.nodes.storage == 32e9
    assert scenario.nodes.server.compute == 1e12
    assert scenario.nodes.overrides == {}
    assert scenario.links.latency == 5e-3
    assert scenario.links.bandwidth == 100e6
    assert scenario.links.overrides == []


def test_validate_scenario_accepts_plain_data() -> None:
    scenario = validate_scenario({"name": "x", "strategy": {"name": "fedavg"}})
    assert scenario.strategy.name == "fedavg"
    assert scenario.topology.server == "server"


def test_quantities_with_units_are_stored_in_si(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: units
        strategy: {name: snake}
        topology: {kind: ring, nodes: [a, b, c]}
        nodes:
          compute: {dist: uniform, low: 10 GFLOPS, high: 1.5 TFLOPS}
          memory: {dist: list, values: [2 GiB, 512 MiB, 1 GB]}
          storage: {dist: lognormal, median: 32 GB, sigma: 0.5}
          server: {compute: 1 PFLOPS, memory: 64 GB}
          overrides:
            b: {compute: 20 GFLOPS, storage: 1 TB}
        links:
          latency: 5 ms
          bandwidth: 12.5 MB/s
          overrides:
            - {between: [a, b], latency: 250 us, bandwidth: 1 Gbps}
            - {between: [b, c], latency: 0}
        """)
    s = load_scenario(path)
    assert s.links.latency == pytest.approx(0.005)
    assert s.links.bandwidth == pytest.approx(1e8)
    first, second = s.links.overrides
    assert first.between == ("a", "b")
    assert first.latency == pytest.approx(250e-6)
    assert first.bandwidth == pytest.approx(1e9)
    assert second.latency == 0.0
    assert second.bandwidth is None
    compute: object = s.nodes.compute
    memory: object = s.nodes.memory
    storage: object = s.nodes.storage
    assert isinstance(compute, Uniform)
    assert (compute.low, compute.high) == pytest.approx((1e10, 1.5e12))
    assert isinstance(memory, Listed)
    assert memory.values == pytest.approx([2 * 2**30, 512 * 2**20, 1e9])
    assert isinstance(storage, LogNormal)
    assert storage.median == pytest.approx(32e9)
    assert s.nodes.server.compute == pytest.approx(1e15)
    assert s.nodes.server.memory == pytest.approx(64e9)
    assert s.nodes.server.storage is None
    assert s.nodes.overrides["b"].compute == pytest.approx(2e10)
    assert s.nodes.overrides["b"].storage == pytest.approx(1e12)


def test_plain_numbers_are_si_base_units(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, """\
        name: plain
        strategy: {name: snake}
        nodes: {compute: 2e9, memory: 1000}
        links: {latency: 0.01, bandwidth: 1000000}
        """))
    assert s.nodes.compute == 2e9
    assert s.nodes.memory == 1000.0
    assert s.links.latency == 0.01
    assert s.links.bandwidth == 1e6


def test_a_full_scenario_loads(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, """\
        name: full-run_1.0
        description: every section
        seed: 3
        data:
          test_fraction: 0.2
          split_seed: 1
          partition: {kind: dirichlet, alpha: 0.5}
        model: {width: 8}
        training: {optimizer: adam, lr: 0.001, batch_size: 16, rounds: 2}
        topology:
          kind: explicit
          nodes: [s, a, b]
          edges:
            - {between: [s, a], bandwidth: 1 Gbps}
            - {between: [a, b]}
          server: s
        strategy: {name: snake, mode: cs, route: [b, a]}
        """))
    assert isinstance(s.topology, ExplicitTopology)
    assert s.topology.edges[0].bandwidth == 1e9
    assert s.data.partition == DirichletPartition(kind="dirichlet", alpha=0.5)
    assert s.strategy == SnakeStrategy(name="snake", mode="cs", route=["b", "a"])


def test_seed_argument_replaces_the_file_seed(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "seed: 4\n")
    assert load_scenario(path).seed == 4
    assert load_scenario(path, seed=11).seed == 11
    assert load_scenario(str(path), seed=0).seed == 0


def test_fedavg_on_ring_with_server_is_fine(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, """\
        name: ring
        strategy: {name: fedavg}
        topology: {kind: ring, nodes: [a, b, c, d], server: a}
        """))
    assert isinstance(s.topology, RingTopology)
    assert s.topology.server == "a"


# ---------------------------------------------------------------------- located errors
def test_unknown_top_level_key(tmp_path: Path) -> None:
    assert one_line(tmp_path, MINIMAL + "colour: red\n") == "colour: unknown key (got colour)"


def test_unknown_nested_key(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: snake, colour: red}\n")
    assert line == "strategy.colour: unknown key (got colour)"


def test_unknown_deeply_nested_key(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "nodes: {overrides: {n1: {speed: 3}}}\n")
    assert line == "nodes.overrides.n1.speed: unknown key (got speed)"
    line = one_line(tmp_path, MINIMAL + "nodes: {compute: {dist: fixed, value: 1, x: 2}}\n")
    assert line == "nodes.compute.x: unknown key (got x)"


def test_negative_bandwidth(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "links: {bandwidth: -5 Mbps}\n")
    assert str(load_error(path)) == f"{path}: links.bandwidth: must be > 0 (got -5 Mbps)"


def test_zero_latency_is_allowed_but_zero_bandwidth_is_not(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "links: {latency: 0 ms, bandwidth: 0}\n")
    assert line == "links.bandwidth: must be > 0 (got 0)"
    line = one_line(tmp_path, MINIMAL + "links: {latency: -1 ms}\n")
    assert line == "links.latency: must be >= 0 (got -1 ms)"


def test_unknown_unit(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "links: {bandwidth: 5 furlongs}\n")
    assert line.startswith("links.bandwidth: unknown bandwidth unit 'furlongs' (use one of ")
    assert "Mbps" in line
    assert line.endswith("(got 5 furlongs)")


def test_unit_of_the_wrong_dimension(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "links: {latency: 100 Mbps}\n")
    assert line.startswith("links.latency: unknown time unit 'Mbps'")
    assert line.endswith("(got 100 Mbps)")


def test_quantity_that_is_not_a_number(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "links: {latency: true}\n")
    assert line == "links.latency: must be a time quantity such as '5 ms' (got True)"
    line = one_line(tmp_path, MINIMAL + "nodes: {overrides: {n1: {memory: lots}}}\n")
    assert line == ("nodes.overrides.n1.memory: must be a number with a size unit, "
                    "such as '1.5 GB' (got lots)")


def test_missing_required_name(tmp_path: Path) -> None:
    assert one_line(tmp_path, "strategy: {name: snake}\n") == "name: is required"


def test_missing_required_strategy(tmp_path: Path) -> None:
    assert one_line(tmp_path, "name: x\n") == "strategy: is required"


def test_missing_required_nested_key(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "data: {partition: {kind: dirichlet}}\n")
    assert line == "data.partition.alpha: is required"


def test_bad_name(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: bad name!\nstrategy: {name: snake}\n")
    assert line.startswith("name: string should match pattern")
    assert line.endswith("(got bad name!)")


def test_out_of_range_number(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "training: {lr: 0}\n")
    assert line == "training.lr: input should be greater than 0 (got 0)"
    line = one_line(tmp_path, MINIMAL + "seed: -1\n")
    assert line == "seed: input should be greater than or equal to 0 (got -1)"


def test_unknown_strategy_name(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: gossip}\n")
    assert line.startswith("strategy: input tag 'gossip' found using 'name'")
    assert "'snake', 'fedavg'" in line


def test_strategy_that_is_not_a_mapping(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: snake\n")
    assert line.startswith("strategy: ")
    assert line.endswith("(got snake)")


# ---------------------------------------------------------------------- file problems
def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nstrategy: {name: snake\n")
    error = load_error(path)
    assert str(error).startswith(f"{path}:3:1: YAML syntax error")
    assert "\n" not in str(error)


def test_yaml_syntax_error_points_at_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nstrategy: {name: snake}\nlinks:\n  latency: 5 ms\n"
                           "   bandwidth: 1 Gbps\n")
    error = load_error(path)
    assert str(error).startswith(f"{path}:5:")
    assert "YAML syntax error: mapping values are not allowed here" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: no such file"


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert str(info.value) == f"{tmp_path}: not a file"


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\nstrategy: {name: snake}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}: cannot read: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("text", "kind"), [("- name: x\n- strategy: snake\n", "list"),
                                            ("just words\n", "str"), ("42\n", "int"),
                                            ("", "NoneType")])
def test_top_level_not_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = write(tmp_path, text)
    assert str(load_error(path)) == (f"{path}: must be a mapping of keys to values "
                                     f"(name:, strategy:, ...) (got {kind})")


def test_scenario_error_is_a_snakesim_error_with_exit_code_2(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\n")
    error = load_error(path)
    assert isinstance(error, SnakesimError)
    assert error.exit_code == 2
    assert error.source == str(path)
    assert [p.where for p in error.problems] == ["strategy"]


# ------------------------------------------------------------------ distribution errors
def test_uniform_with_high_below_low(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "nodes:\n  compute: {dist: uniform, low: 2 GFLOPS, "
                                        "high: 1 GFLOPS}\n")
    assert line.startswith("nodes.compute: high must be >= low (got ")


def test_list_with_wrong_number_of_values(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "nodes:\n  compute: {dist: list, values: [1 GFLOPS, "
                                        "2 GFLOPS]}\n")
    assert line == ("nodes.compute.values: needs one value per client node "
                    "(6: n1, n2, n3, n4, n5, n6) (got 2)")


def test_list_with_a_bad_value(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "nodes:\n  memory: {dist: list, values: [1 GB, -2 GB]}\n")
    assert line == "nodes.memory.values.1: must be > 0 (got -2 GB)"


def test_empty_list_distribution(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "nodes:\n  storage: {dist: list, values: []}\n")
    assert line.startswith("nodes.storage.values: list should have at least 1 item")


def test_distribution_with_unknown_unit(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "nodes:\n  compute: {dist: fixed, value: 3 GHz}\n")
    assert line.startswith("nodes.compute.value: unknown compute unit 'GHz'")
    assert line.endswith("(got 3 GHz)")


def test_distribution_missing_a_parameter(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "nodes:\n  compute: {dist: uniform, low: 1 GFLOPS}\n")
    assert line == "nodes.compute.high: is required"


def test_lognormal_with_negative_sigma(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "nodes:\n  compute: {dist: lognormal, "
                                        "median: 1 GFLOPS, sigma: -1}\n")
    assert line == "nodes.compute.sigma: input should be greater than or equal to 0 (got -1)"


def test_unknown_distribution(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "nodes:\n  compute: {dist: gamma}\n")
    assert line.startswith("nodes.compute: input tag 'gamma' found using 'dist'")


def test_negative_plain_node_quantity(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "nodes: {compute: -1 GFLOPS}\n")
    assert line == "nodes.compute: must be > 0 (got -1 GFLOPS)"


# ------------------------------------------------------------------- cross references
def test_override_of_unknown_node(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "nodes:\n  overrides:\n    n9: {compute: 1 GFLOPS}\n")
    assert line == "nodes.overrides.n9: unknown node (got n9)"


def test_override_of_server_is_allowed(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, MINIMAL + "nodes: {overrides: {server: {compute: 1}}}\n"))
    assert s.nodes.overrides["server"].compute == 1.0


def test_link_override_between_unknown_node(tmp_path: Path) -> None:
    lines = error_lines(tmp_path, MINIMAL + "links:\n  overrides:\n"
                                            "    - {between: [n1, server]}\n"
                                            "    - {between: [n1, zz]}\n")
    assert lines == ["links.overrides.1.between: unknown node (got zz)"]


def test_link_override_with_one_end(tmp_path: Path) -> None:
    line = one_line(tmp_path, MINIMAL + "links:\n  overrides:\n    - {between: [n1]}\n")
    assert line == "links.overrides.0.between.1: is required"


def test_route_through_unknown_node(tmp_path: Path) -> None:
    lines = error_lines(tmp_path, "name: x\nstrategy: {name: snake, route: [n2, n1, zz]}\n")
    assert lines == ["strategy.route.2: must name a client node "
                     "(n1, n2, n3, n4, n5, n6) (got zz)"]


def test_route_through_the_server(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: snake, route: [server, n1]}\n")
    assert line == "strategy.route.0: must name a client node (n1, n2, n3, n4, n5, n6) (got server)"


def test_route_repeating_a_node(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: snake, route: [n1, n2, n1]}\n")
    assert line == "strategy.route: must not repeat a node (got ['n1', 'n2', 'n1'])"


def test_unknown_strategy_server(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: fedavg, server: hub}\n")
    assert line == "strategy.server: unknown node (got hub)"


def test_fedavg_on_ring_without_server(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: fedavg}\ntopology: {kind: ring}\n")
    assert line == ("strategy.server: FedAvg needs a server node: name one here or in "
                    "topology.server")


def test_snake_cs_mode_without_server(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: snake, mode: cs}\n"
                              "topology: {kind: mesh, nodes: 3}\n")
    assert line.startswith("strategy.server: Snake Learning in CS mode needs a server node")


def test_topology_server_not_among_nodes(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: snake}\n"
                              "topology: {kind: line, nodes: [a, b], server: c}\n")
    assert line == "topology.server: must name one of topology.nodes (got c)"


def test_duplicate_node_names(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: snake}\n"
                              "topology: {kind: ring, nodes: [a, b, a]}\n")
    assert line == "topology.nodes: node names must be unique (got a)"


def test_star_client_named_like_the_server(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: snake}\n"
                              "topology: {kind: star, clients: [a, server]}\n")
    assert line == "topology.server: node names must be unique (got server)"


def test_explicit_edge_to_unknown_node_and_self_loop(tmp_path: Path) -> None:
    lines = error_lines(tmp_path, """\
        name: x
        strategy: {name: snake}
        topology:
          kind: explicit
          nodes: [a, b]
          edges: [{between: [a, c]}, {between: [b, b]}]
        """)
    assert lines == ["topology.edges.0.between: unknown node (got c)",
                     "topology.edges.1.between: a link needs two different nodes "
                     "(got ['b', 'b'])"]


def test_topology_with_only_a_server(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: snake}\n"
                              "topology: {kind: star, clients: []}\n")
    assert line == "topology: needs at least one node besides the server"


def test_too_few_ring_nodes_is_one_problem(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: snake}\n"
                              "topology: {kind: ring, nodes: 2}\n")
    assert line == "topology.nodes: input should be greater than or equal to 3 (got 2)"


def test_bad_star_client_name_is_one_problem(tmp_path: Path) -> None:
    line = one_line(tmp_path, "name: x\nstrategy: {name: snake}\n"
                              "topology: {kind: star, clients: [a, [b]]}\n")
    assert line == "topology.clients.1: input should be a valid string (got ['b'])"


# --------------------------------------------------------------------- several problems
def test_several_problems_give_several_lines(tmp_path: Path) -> None:
    lines = error_lines(tmp_path, """\
        strategy: {name: snake, colour: red}
        seed: -1
        links: {bandwidth: -5 Mbps, latency: 3 parsecs}
        extra: 1
        """)
    assert len(lines) == 6
    assert "name: is required" in lines
    assert "strategy.colour: unknown key (got colour)" in lines
    assert "seed: input should be greater than or equal to 0 (got -1)" in lines
    assert "links.bandwidth: must be > 0 (got -5 Mbps)" in lines
    assert "extra: unknown key (got extra)" in lines
    assert any(line.startswith("links.latency: unknown time unit 'parsecs'")
               and line.endswith("(got 3 parsecs)") for line in lines)


def test_several_cross_reference_problems_give_several_lines(tmp_path: Path) -> None:
    lines = error_lines(tmp_path, """\
        name: x
        strategy: {name: fedavg}
        topology: {kind: ring, nodes: [a, b, c]}
        nodes:
          compute: {dist: list, values: [1, 2]}
          overrides: {d: {compute: 1}}
        links:
          overrides: [{between: [a, e]}]
        """)
    assert lines == [
        "nodes.compute.values: needs one value per client node (3: a, b, c) (got 2)",
        "nodes.overrides.d: unknown node (got d)",
        "links.overrides.0.between: unknown node (got e)",
        "strategy.server: FedAvg needs a server node: name one here or in topology.server",
    ]


def test_validate_scenario_names_its_source() -> None:
    with pytest.raises(ScenarioError) as info:
        validate_scenario({"name": "x", "strategy": {"name": "snake"}, "oops": 1}, "cli")
    assert str(info.value) == "cli: oops: unknown key (got oops)"
    with pytest.raises(ScenarioError) as info:
        validate_scenario({"strategy": {"name": "snake"}})
    assert str(info.value) == "<scenario>: name: is required"


# ------------------------------------------------------------------ model properties
def test_scenarios_are_frozen(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, MINIMAL))
    with pytest.raises(pydantic.ValidationError):
        s.name = "other"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        s.links.bandwidth = 1.0  # type: ignore[misc]
    strategy = s.strategy
    assert isinstance(strategy, SnakeStrategy)
    with pytest.raises(pydantic.ValidationError):
        strategy.route = ["n1"]  # type: ignore[misc]
    assert s.name == "minimal"


def test_equal_files_give_equal_scenarios(tmp_path: Path) -> None:
    a = load_scenario(write(tmp_path, MINIMAL))
    b = validate_scenario({"name": "minimal", "strategy": {"name": "snake"}})
    assert a == b


ROUND_TRIP = """\
    name: round-trip
    seed: 5
    strategy: {name: snake, mode: cs, route: [c, b]}
    topology: {kind: ring, nodes: [a, b, c], server: a}
    nodes:
      compute: {dist: list, values: [1 GFLOPS, 2 GFLOPS]}
      memory: {dist: uniform, low: 1 GB, high: 2 GiB}
      storage: 64 GB
      overrides: {b: {memory: 3 GB}}
    links:
      bandwidth: 1 Gbps
      overrides: [{between: [a, c], latency: 20 ms}]
    data: {partition: {kind: dirichlet, alpha: 0.3}}
    """


def test_json_dump_round_trips(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, ROUND_TRIP))
    dumped = s.model_dump(mode="json")
    assert dumped["links"]["bandwidth"] == 1e9
    assert dumped["nodes"]["compute"] == {"dist": "list", "values": [1e9, 2e9]}
    assert validate_scenario(dumped) == s
    assert Scenario.model_validate(dumped) == s
    assert Scenario.model_validate_json(s.model_dump_json()) == s


def test_yaml_dump_round_trips(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, ROUND_TRIP))
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump(s.model_dump(mode="json")), encoding="utf-8")
    assert load_scenario(again) == s


def test_default_scenario_round_trips() -> None:
    s = validate_scenario({"name": "d", "strategy": {"name": "fedavg"}})
    assert validate_scenario(s.model_dump(mode="json")) == s


def test_json_schema_accepts_strings_for_quantities() -> None:
    schema = Scenario.model_json_schema()
    defs = schema["$defs"]

    def types(prop: dict[str, Any]) -> set[str]:
        return {option.get("type") for option in prop.get("anyOf", [])}

    links = defs["LinksSpec"]["properties"]
    assert {"number", "string"} <= types(links["latency"])
    assert {"number", "string"} <= types(links["bandwidth"])
    server = defs["NodeValues"]["properties"]
    for key in ("compute", "memory", "storage"):
        assert {"number", "string"} <= types(server[key])
    compute = defs["NodesSpec"]["properties"]["compute"]
    assert any({"number", "string"} <= types(option) for option in compute["oneOf"])
    assert schema["additionalProperties"] is False
    assert "strategy" in schema["required"]
    assert "name" in schema["required"]


# ------------------------------------------------------------------------ properties
def test_key_with_a_line_break_stays_on_one_line() -> None:
    with pytest.raises(ScenarioError) as info:
        validate_scenario({"name": "x", "strategy": {"name": "snake"}, "a\nb": 1}, "f.yaml")
    assert str(info.value) == "f.yaml: 'a\\nb': unknown key (got 'a\\nb')"


def test_key_with_a_dot_is_named_whole() -> None:
    with pytest.raises(ScenarioError) as info:
        validate_scenario({"name": "x", "strategy": {"name": "snake"}, "links.bandwidth": 1},
                          "f.yaml")
    assert str(info.value) == "f.yaml: links.bandwidth: unknown key (got links.bandwidth)"


def test_value_with_a_line_break_stays_on_one_line() -> None:
    with pytest.raises(ScenarioError) as info:
        validate_scenario({"name": "a\nb", "strategy": {"name": "snake"}}, "f.yaml")
    assert len(str(info.value).splitlines()) == 1


_KEYS = ["name", "description", "seed", "data", "model", "training", "topology", "nodes",
         "links", "strategy", "kind", "dist", "values", "low", "high", "value", "median",
         "sigma", "between", "overrides", "server", "route", "mode", "nodes", "clients",
         "bandwidth", "latency", "compute", "memory", "partition", "alpha"]
# Values without line breaks: see test_value_with_a_line_break_stays_on_one_line.
_TEXT = st.text(max_size=12)
_SCALARS = (st.none() | st.booleans() | st.integers(-10**6, 10**20) | st.floats() | _TEXT
            | st.sampled_from(["snake", "fedavg", "ring", "star", "explicit", "list",
                               "uniform", "5 ms", "-5 Mbps", "1 GB", "n1", "server",
                               "20 GFLOPS", "inf", "1e999 s"]))
_JUNK = st.recursive(
    _SCALARS,
    lambda inner: (st.lists(inner, max_size=4)
                   | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=6)
                                     | st.integers(), inner, max_size=5)),
    max_leaves=20,
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=8), _JUNK, max_size=8))
def test_junk_only_ever_raises_scenario_error(data: dict[Any, Any]) -> None:
    try:
        scenario = validate_scenario(data, "junk.yaml")
    except ScenarioError as error:
        lines = str(error).splitlines()
        assert lines
        assert len(lines) == len(error.problems)
        assert all(line.startswith("junk.yaml: ") for line in lines)
    else:
        assert isinstance(scenario, Scenario)


@settings(max_examples=200, deadline=None)
@given(section=st.sampled_from(["nodes", "links", "topology", "strategy", "data",
                                "training"]),
       value=_JUNK)
@pytest.mark.slow
def test_junk_in_a_section_only_ever_raises_scenario_error(section: str, value: Any) -> None:
    data: dict[str, Any] = {"name": "x", "strategy": {"name": "snake"}, section: value}
    try:
        validate_scenario(data, "junk.yaml")
    except ScenarioError as error:
        assert len(str(error).splitlines()) == len(error.problems) >= 1

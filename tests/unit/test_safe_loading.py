"""Every file a scenario names is loaded safely and within bounds (issue #10).

YAML through the YAML 1.2 core-schema reader (duplicate keys, alias bombs, deep nesting,
size); CIFAR pickles through the allowlist unpickler (hostile pickles never run);
topology files (DTDs, garbage, wrong shapes, limits); bandwidth traces (every bad value
a located error); Hugging Face loads never run a model's own code.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snakesim.config.graphfile import read_graph
from snakesim.config.loading import load_scenario, read_yaml
from snakesim.config.yamlfile import parse_yaml
from snakesim.errors import ConfigurationError, ScenarioError
from snakesim.learning.data.cifar import FILES, load_cifar10_folder
from snakesim.network.links import read_trace


def write(tmp_path: Path, text: str | bytes, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def yaml_error(tmp_path: Path, text: str | bytes) -> str:
    """The one-line message `read_yaml` refuses ``text`` with."""
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        read_yaml(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


# ------------------------------------------------------------------- YAML core schema
@pytest.mark.parametrize(("text", "expected"), [
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("Yes", "Yes"),
    ("1:30", "1:30"), ("0b1", "0b1"), ("1_000", "1_000"), ("2024-01-01", "2024-01-01"),
    ("=", "="), ("<<", "<<"), ("y", "y"),
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("FALSE", False),
    ("~", None), ("null", None), ("Null", None), ("NULL", None), ("", None),
    ("12", 12), ("-3", -3), ("+7", 7), ("012", 12), ("0o17", 15), ("0x1F", 31),
    ("1e9", 1e9), ("1.5e-3", 1.5e-3), ("-2E+2", -200.0), ("1.", 1.0), (".5", 0.5),
    (".inf", math.inf), ("-.inf", -math.inf), ("+.INF", math.inf),
    ("'1e9'", "1e9"), ('"true"', "true"),
])
def test_scalars_follow_the_yaml_1_2_core_schema(text: str, expected: object) -> None:
    value = parse_yaml(f"x: {text}\n", "s.yaml")["x"]
    assert value == expected and type(value) is type(expected)


def test_nan_is_a_float() -> None:
    assert math.isnan(parse_yaml("x: .nan\n", "s.yaml")["x"])


def test_yaml_1_1_words_reach_the_schema_as_strings(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\nstrategy: {name: snake, distill: on}\n")
    assert load_scenario(path).strategy.distill == "on"  # type: ignore[union-attr]
    path = write(tmp_path, "name: t\nstrategy: {name: snake}\ntraining: {rounds: 1:30}\n")
    with pytest.raises(ScenarioError, match=r"training\.rounds: .*\(got 1:30\)"):
        load_scenario(path)


@pytest.mark.parametrize(("text", "where", "rule"), [
    ("name: a\nrounds: 3\nb: 1\nrounds: 4\n", "4:1", "duplicate key 'rounds' (first at line 2)"),
    ("a:\n  b:\n    c: 1\n    c: 2\n", "4:5", "duplicate key 'c' (first at line 3)"),
    ("a: [{x: 1, y: 2, x: 3}]\n", "1:18", "duplicate key 'x' (first at line 1)"),
    ("1: a\n1.0: b\n", "2:1", "duplicate key '1.0' (first at line 1)"),
    ("? [a, b]\n: 1\n", "1:3", "a key must be a string or a number (got a sequence)"),
    ("{{a: 1}: 2}\n", "1:2", "a key must be a string or a number (got a mapping)"),
    ("a: &x {b: 1}\nc:\n  <<: *x\n", "3:3", "merge keys (<<) are YAML 1.1; write the keys out"),
    ("x: !!python/object/apply:os.system [ls]\n", "1:4", "tag !!python/object/apply:os.system "
     "is not supported"),
    ("x: !!binary aGk=\n", "1:4", "tag !!binary is not supported"),
    ("x: !!bool yes\n", "1:4", "not a YAML 1.2 boolean: 'yes'"),
    ("x: !!int 0b1\n", "1:4", "not a YAML 1.2 integer: '0b1'"),
    ("x: " + "7" * 5000 + "\n", "1:4", "an integer of 5000 digits is too long"),
    ("a: &a [*a]\n", "1:8", "alias *a is used inside its own anchor"),
    ("a: {b: &b {c: [*b]}}\n", "1:16", "alias *b is used inside its own anchor"),
    ("x: *nope\n", "1:4", "YAML syntax error: found undefined alias 'nope'"),
    ("a: 1\n---\nb: 2\n", "2:1", "YAML syntax error: expected a single document in the stream"),
    ("a: \x07\n", "1:4", "YAML syntax error: special characters are not allowed (got '\\x07')"),
])
def test_refusals_are_located_at_the_offending_place(tmp_path: Path, text: str | bytes,
                                                     where: str, rule: str) -> None:
    message = yaml_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'x.yaml'}:{where}: {rule}")


def test_text_that_is_not_utf8_is_located(tmp_path: Path) -> None:
    assert yaml_error(tmp_path, b"a: b\nc: \xff\n").endswith(
        "x.yaml: cannot read: not UTF-8 text (byte 0xff) at line 2, column 4")


def billion_laughs(levels: int, width: int = 10) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]"
              for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [
    billion_laughs(9),
    "a: &a [" + ", ".join(["x"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 300) + "]\n",
    "a: &a " + "[" * 30 + "x" + "]" * 30 + "\nb: [" + ", ".join(["*a"] * 10_000) + "]\n",
], ids=["nine-levels", "one-level", "deep-anchor"])
def test_alias_bombs_are_refused_before_expansion(tmp_path: Path, text: str) -> None:
    message = yaml_error(tmp_path, text)
    assert "expands to more than 200000 nodes (set SNAKESIM_MAX_YAML_NODES" in message


@pytest.mark.parametrize("text", [
    "[" * 100_000,
    "{a: " * 100_000,
    "".join(" " * i + "a:\n" for i in range(3000)),
    "- " * 100_000 + "x\n",
], ids=["flow-lists", "flow-maps", "block-maps", "block-lists"])
def test_deep_nesting_is_a_located_error_not_a_recursion_error(tmp_path: Path,
                                                               text: str) -> None:
    message = yaml_error(tmp_path, text)
    assert "nested deeper than 64 levels" in message or "maximum nesting depth" in message
    assert message.split(": ")[0].count(":") == 2  # file:line:col


def test_the_limits_are_exact_and_set_by_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 64 nested lists load; 65 do not.
    assert parse_yaml("[" * 64 + "]" * 64, "s") is not None
    with pytest.raises(ScenarioError, match="nested deeper than 64"):
        parse_yaml("[" * 65 + "]" * 65, "s")
    monkeypatch.setenv("SNAKESIM_MAX_DEPTH", "3")
    assert parse_yaml("a: {b: {c: 1}}", "s") == {"a": {"b": {"c": 1}}}
    with pytest.raises(ScenarioError, match=r"nested deeper than 3 .*SNAKESIM_MAX_DEPTH"):
        parse_yaml("a: {b: {c: [1]}}", "s")
    with pytest.raises(ScenarioError, match=r"s:2:8: alias \*x nests the document deeper"):
        parse_yaml("a: &x {b: {c: 1}}\nd: {e: *x}", "s")  # 2 levels + an alias of 2
    # Nodes with aliases expanded: a map, key a, a list of 3; key b and *a (4 more).
    monkeypatch.setenv("SNAKESIM_MAX_YAML_NODES", "11")
    assert parse_yaml("a: &a [1, 2, 3]\nb: *a\n", "s") == {"a": [1, 2, 3], "b": [1, 2, 3]}
    monkeypatch.setenv("SNAKESIM_MAX_YAML_NODES", "10")
    with pytest.raises(ScenarioError, match=r"^s:2:4: the document expands to more than 10"):
        parse_yaml("a: &a [1, 2, 3]\nb: *a\n", "s")


def test_files_over_the_size_limit_are_refused_unread(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Unclosed flow: were it parsed, the error would be a syntax error instead.
    message = yaml_error(tmp_path, "x: [" + "1, " * 3_500_000)
    assert message.endswith(": the file is 10 MB, over the limit of 8 MB (set "
                            "SNAKESIM_MAX_FILE_MB to raise it)")
    monkeypatch.setenv("SNAKESIM_MAX_FILE_MB", "0.5")
    assert "over the limit of 0.5 MB" in yaml_error(tmp_path, "a: " + "b" * 600_000)


def test_a_large_string_under_the_limit_loads(tmp_path: Path) -> None:
    data = read_yaml(write(tmp_path, "description: " + "x" * 7_000_000 + "\n"))
    assert len(data["description"]) == 7_000_000


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300),
                 st.text(alphabet="[]{}:,-&*!?|>'\"#%@`~.\n\t abc01", max_size=300)))
def test_the_reader_only_ever_raises_scenario_error(data: bytes | str) -> None:
    try:
        parse_yaml(data, "fuzz.yaml")
    except ScenarioError as err:
        assert str(err).startswith("fuzz.yaml") and "\n" not in str(err)


# ---------------------------------------------------------------------------- CIFAR
def cifar_folder(folder: Path, protocol: int = pickle.DEFAULT_PROTOCOL) -> dict[str, Any]:
    """A tiny CIFAR-10 folder in the real format; the raw batches written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    written: dict[str, Any] = {}
    for name in FILES[:-1]:
        batch = {b"batch_label": f"batch {name}".encode(), b"filenames": [b"a.png"] * 3,
                 b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8),
                 b"labels": [int(v) for v in rng.integers(0, 10, 3)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
        written[name] = batch
    meta = {b"label_names": [b"cat", b"dog"], b"num_vis": 3072, b"n": np.int64(3)}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=protocol))
    return written


@pytest.mark.parametrize("protocol", [2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
def test_real_format_batches_load(tmp_path: Path, protocol: int) -> None:
    written = cifar_folder(tmp_path, protocol)
    x_train, y_train, x_test, y_test, names = load_cifar10_folder(tmp_path)
    assert np.array_equal(x_train[3].reshape(-1), written["data_batch_2"][b"data"][0])
    assert y_train.tolist() == [label for i in range(1, 6)
                                for label in written[f"data_batch_{i}"][b"labels"]]
    assert x_test.shape == (3, 3, 32, 32) and len(y_test) == 3 and names == ["cat", "dog"]


class Hostile:
    """Pickles to a call of ``target(*args)``."""

    def __init__(self, target: Any, *args: Any) -> None:
        self.target, self.args = target, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.target, self.args


def stealthy(command: str) -> bytes:
    """A pickle that calls ``os.system(command)``, drops the result, then holds a valid
    CIFAR batch: a plain ``pickle.load`` would run the command and return good data."""
    payload = command.encode()
    valid = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}, protocol=2)
    return (valid[:2] + b"cos\nsystem\nX" + struct.pack("<I", len(payload)) + payload
            + b"\x85R0" + valid[2:])


def test_the_stealthy_pickle_is_really_a_command_then_a_batch() -> None:
    calls: list[tuple[str, str, tuple[Any, ...]]] = []

    class Recorder(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if module == "os":
                return lambda *args: calls.append((module, name, args))
            return super().find_class(module, name)

    import io
    data = Recorder(io.BytesIO(stealthy("touch M")), encoding="bytes").load()
    assert calls == [("os", "system", ("touch M",))]
    assert data[b"labels"] == [0] and data[b"data"].shape == (1, 3072)


def hostile_cases(marker: Path) -> dict[str, tuple[bytes, str]]:
    """Pickled batches that try to create ``marker``, and the global each names."""
    touch = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"
    batch = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}
    system = f"{os.system.__module__}.system"  # posix.system on Linux
    return {
        "os.system": (pickle.dumps(Hostile(os.system, touch)), system),
        "subprocess": (pickle.dumps(Hostile(subprocess.Popen, ["touch", str(marker)])),
                       "subprocess.Popen"),
        "eval": (pickle.dumps(Hostile(builtins.eval, code)), "builtins.eval"),
        # Protocol 2 spells builtins with their Python 2 module name.
        "exec": (pickle.dumps(Hostile(builtins.exec, code), protocol=2), "__builtin__.exec"),
        "nested": (pickle.dumps({**batch, b"filenames": [Hostile(os.system, touch)]}),
                   system),
        "stealthy": (stealthy(touch), "os.system"),
    }


@pytest.mark.parametrize("case", ["os.system", "subprocess", "eval", "exec", "nested",
                                  "stealthy"])
def test_hostile_pickles_are_refused_and_never_run(tmp_path: Path, case: str) -> None:
    folder, marker = tmp_path / "cifar", tmp_path / "MARKER"
    cifar_folder(folder)
    data, named = hostile_cases(marker)[case]
    (folder / "data_batch_3").write_bytes(data)
    with pytest.raises(ConfigurationError) as info:
        load_cifar10_folder(folder)
    assert str(info.value) == (
        f"data.path: {folder / 'data_batch_3'}: refusing to load: the pickle asks for "
        f"{named}; a CIFAR batch holds only arrays, lists and bytes")
    assert not marker.exists()


def test_codecs_encode_is_admitted_only_for_latin1_text(tmp_path: Path) -> None:
    cifar_folder(tmp_path)
    # _codecs.encode('x', 'rot13'), as a protocol-2 pickle spells bytes, but not latin-1.
    (tmp_path / "test_batch").write_bytes(b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00x"
                                          b"X\x05\x00\x00\x00rot13\x86R.")
    with pytest.raises(ConfigurationError, match=r"test_batch: cannot read a CIFAR batch: "
                                                 r"UnpicklingError: _codecs\.encode with str"):
        load_cifar10_folder(tmp_path)


# ------------------------------------------------------------------- topology files
def graph_error(path: Path, fmt: str = "auto") -> str:
    with pytest.raises(ConfigurationError) as info:
        read_graph(str(path), fmt)
    message = str(info.value)
    assert message.startswith(f"topology.path: {path}") and "\n" not in message
    return message


BODY = ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        '<graph edgedefault="undirected">{}</graph></graphml>')
GRAPHML = '<?xml version="1.0" encoding="UTF-8"?>\n' + BODY


def graphml(nodes: int, edges: list[tuple[int, int]]) -> str:
    return GRAPHML.format("".join(f'<node id="n{i}"/>' for i in range(nodes))
                          + "".join(f'<edge source="n{u}" target="n{v}"/>' for u, v in edges))


@pytest.mark.parametrize("text", [
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
    + BODY.format('<node id="&b;"/>'),
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE g [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + BODY.format('<node id="&x;"/>'),
], ids=["entity-bomb", "external-entity"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_graphml_with_a_dtd_is_refused_before_parsing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, encoding: str) -> None:
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed")

    monkeypatch.setattr("snakesim.config.graphfile.ElementTree.fromstring", never)
    monkeypatch.setattr(nx, "read_graphml", never)
    path = write(tmp_path, text.replace('"UTF-8"', f'"{encoding}"').encode(encoding),
                 "net.graphml")
    assert "refusing a GraphML file with a <!DOCTYPE> or <!ENTITY>" in graph_error(path)


@pytest.mark.parametrize(("text", "rule"), [
    ("<graphml><graph><node id='a'/><edge", "ParseError: unclosed token"),
    (bytes(range(256)), "ParseError: not well-formed"),
    ("", "ParseError: no element found"),
    ("<other/>", "NetworkXError"),
    ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
     '<key id="d" for="node" attr.name="w" attr.type="int"/><graph edgedefault="undirected">'
     '<node id="a"><data key="d">heavy</data></node></graph></graphml>', "ValueError"),
])
def test_garbage_graphml_is_a_located_error(tmp_path: Path, text: str | bytes,
                                            rule: str) -> None:
    path = write(tmp_path, text, "net.graphml")
    assert f"cannot read the graphml file: {rule}" in graph_error(path)


@pytest.mark.parametrize(("document", "rule"), [
    ("[1, 2]", "expected an object with 'nodes' and 'links' (got a list of 2)"),
    ('"nodes"', "expected an object with 'nodes' and 'links' (got \"nodes\")"),
    ("42", "expected an object with 'nodes' and 'links' (got 42)"),
    ("[" * 100_000, "nested too deeply"),
    ("{nodes: 1}", "not JSON: Expecting property name"),
    ('{"links": []}', "'nodes' must be a list (got nothing)"),
    ('{"nodes": {}, "links": []}', "'nodes' must be a list (got an object with keys none)"),
    ('{"nodes": [{"id": "a"}]}', "'links' (or 'edges') must be a list (got nothing)"),
    ('{"nodes": ["a"], "links": []}', "nodes[0] must be an object"),
    ('{"nodes": [{"id": "a"}], "links": [{"source": "a"}]}',
     "links[0] must be an object with 'source' and 'target' (got an object with keys source)"),
    ('{"nodes": [{"id": {"x": 1}}], "links": []}', "TypeError"),
    ('{"nodes": [{"id": 1}, {"id": "1"}], "links": []}', "two node ids have the same text"),
])
def test_malformed_node_link_json_is_a_located_error(tmp_path: Path, document: str,
                                                     rule: str) -> None:
    assert rule in graph_error(write(tmp_path, document, "net.json"))


def test_node_ids_that_are_not_strings_become_names(tmp_path: Path) -> None:
    document = {"nodes": [{"id": 1}, {"id": 2.5}, {"id": "c"}],
                "links": [{"source": 1, "target": 2.5}, {"source": 2.5, "target": "c"}]}
    graph = read_graph(str(write(tmp_path, json.dumps(document), "net.json")))
    assert list(graph.nodes) == ["1", "2.5", "c"]
    assert sorted(map(sorted, graph.edges)) == [["1", "2.5"], ["2.5", "c"]]


@pytest.mark.parametrize("fmt", ["graphml", "node_link"])
def test_topology_limits_name_their_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             fmt: str) -> None:
    def file(nodes: int, edges: list[tuple[int, int]], name: str) -> Path:
        if fmt == "graphml":
            return write(tmp_path, graphml(nodes, edges), f"{name}.graphml")
        document = {"nodes": [{"id": f"n{i}"} for i in range(nodes)],
                    "links": [{"source": f"n{u}", "target": f"n{v}"} for u, v in edges]}
        return write(tmp_path, json.dumps(document), f"{name}.json")

    monkeypatch.setenv("SNAKESIM_MAX_NODES", "3")
    monkeypatch.setenv("SNAKESIM_MAX_LINKS", "2")
    assert read_graph(str(file(3, [(0, 1), (1, 2)], "ok"))).number_of_nodes() == 3
    assert ("4 nodes, over the limit of 3 (set SNAKESIM_MAX_NODES to raise it)"
            in graph_error(file(4, [], "nodes")))
    assert ("3 links, over the limit of 2 (set SNAKESIM_MAX_LINKS to raise it)"
            in graph_error(file(3, [(0, 1), (1, 2), (0, 2)], "links")))
    monkeypatch.setenv("SNAKESIM_MAX_FILE_MB", "0.00005")
    assert "SNAKESIM_MAX_FILE_MB" in graph_error(file(3, [(0, 1), (1, 2)], "big"))


# ----------------------------------------------------------------- bandwidth traces
@pytest.mark.parametrize(("data", "rule"), [
    ("time,bandwidth\n0,1e6\n1e400,1e6\n", ":3: time: must be a finite number"),
    ("time,bandwidth\n0,inf\n", ":2: bandwidth: must be a number"),
    ("time,bandwidth\nnan,1e6\n", ":2: time: must be a number"),
    ("time,bandwidth\n0,-5\n", ":2: bandwidth must be a finite number >= 0 bit/s"),
    ("time,bandwidth\n0,lots\n", ":2: bandwidth: must be a number"),
    ("time,bandwidth\n0,1 x" + " " * 100_000 + "y\n",
     ":2: bandwidth: a cell of 100004 characters is not a quantity"),
    ("time,bandwidth\n0,\"" + "9" * 200_000 + "\"\n", ":2: not a CSV row: field larger"),
    ("", ":1: the header must be 'time,bandwidth' (got '')"),
    ("time,bandwidth\n", ": the trace has no rows after its header"),
    (bytes(range(256)) * 10, ":2: not UTF-8 text (byte 0x80) at column 118"),
    (b"time,bandwidth\n0,\xff\n", ":2: not UTF-8 text (byte 0xff) at column 3"),
    (b"\x00\x01\x02junk", ":1: the header must be 'time,bandwidth'"),
])
def test_bad_trace_values_are_located_errors(tmp_path: Path, data: str | bytes,
                                             rule: str) -> None:
    path = write(tmp_path, data, "trace.csv")
    with pytest.raises(ConfigurationError) as info:
        read_trace(path, "links.overrides.0.trace")
    message = str(info.value)
    assert message.startswith(f"links.overrides.0.trace: {path}{rule}"), message
    assert "\n" not in message and len(message) < 400


def test_trace_files_over_the_size_limit_are_refused(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "time,bandwidth\n" + "".join(f"{i},1e6\n" for i in range(200)),
                 "trace.csv")
    assert len(read_trace(path, "x").times) == 200
    monkeypatch.setenv("SNAKESIM_MAX_FILE_MB", "0.001")
    with pytest.raises(ConfigurationError, match=r"^x: .*trace\.csv: cannot read the trace: "
                                                 r"the file is .* \(set SNAKESIM_MAX_FILE_MB"):
        read_trace(path, "x")


# ---------------------------------------------------------------------- Hugging Face
def test_hugging_face_loads_pass_trust_remote_code_false(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transformers = pytest.importorskip("transformers")
    from snakesim.learning.data.text import HFTokenizer
    from snakesim.learning.models.lm_models import lm_factory, load_lm_config

    seen: dict[str, dict[str, Any]] = {}

    def spy(name: str) -> Any:
        def from_pretrained(*args: Any, **kwargs: Any) -> Any:
            seen[name] = kwargs
            raise OSError("spy")
        return from_pretrained

    for name in ("AutoConfig", "AutoTokenizer", "AutoModelForCausalLM"):
        monkeypatch.setattr(getattr(transformers, name), "from_pretrained", spy(name))
    for call in (lambda: load_lm_config(pretrained=str(tmp_path)),
                 lambda: HFTokenizer(str(tmp_path)),
                 lambda: lm_factory(None, seed=0, pretrained=str(tmp_path))()):
        with pytest.raises(ConfigurationError):
            call()
    assert set(seen) == {"AutoConfig", "AutoTokenizer", "AutoModelForCausalLM"}
    for kwargs in seen.values():
        assert kwargs["trust_remote_code"] is False and kwargs["local_files_only"] is True
    assert seen["AutoModelForCausalLM"]["weights_only"] is True


def test_a_model_folder_asking_for_remote_code_is_not_executed(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from snakesim.learning.models.lm_models import load_lm_config

    marker = tmp_path / "MARKER"
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(
        {"model_type": "snakesim_hostile", "auto_map": {"AutoConfig": "hostile.Config"}}))
    (folder / "hostile.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "from transformers import PretrainedConfig\n"
        "class Config(PretrainedConfig):\n    model_type = 'snakesim_hostile'\n")
    with pytest.raises(ConfigurationError, match=r"model\.lm\.pretrained: .*custom code"):
        load_lm_config(pretrained=str(folder))
    assert not marker.exists()
    assert "hostile" not in sys.modules

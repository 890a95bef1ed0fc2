"""Write the fuzz corpus: malformed scenario, sweep, topology and trace files.

Every file in the corpus is invalid by construction, and ``manifest.json`` says at which
stage snakesim must refuse it: ``validate`` (the file itself, or a file it names, breaks
a rule that can be checked without running), ``run`` (only a run can read it: a
bandwidth trace) or ``sweep``. `tests/fuzz/test_corpus.py` runs every entry through the
CLI in-process and requires one located line per problem, exit 2, no traceback, no hang.

Cases come from rules applied to every shipped scenario (a boolean or a non-finite number
at each numeric leaf, an unknown key in each mapping, a wrong tag, a deleted tag, a list
for a mapping), plus hand-written hostile files (alias bombs, deep nesting, duplicate
keys, YAML 1.1 quirks, scale bombs, bad cross-references, broken topology files). Files
larger than a few kB (the 50 MB inputs) are made by the test itself, not kept here.

Regenerate (deterministic; the corpus is committed)::

    .venv/bin/python tests/fuzz/make_corpus.py
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).with_name("corpus")
SKIP = ("lm.overrides", "description")
"""Key paths whose values are free-form (any key or value is valid there)."""
PER_RULE = 4
"""At most this many cases per rule and scenario (spread over the file's leaves)."""


def shipped() -> list[tuple[str, dict[str, Any]]]:
    """The shipped scenarios (not sweeps), by stem, as plain data."""
    files = sorted(p for p in (REPO / "scenarios").rglob("*.yaml") if "sweeps" not in p.parts)
    return [(str(p.relative_to(REPO / "scenarios").with_suffix("")).replace("/", "-"),
             yaml.safe_load(p.read_text(encoding="utf-8"))) for p in files]


def leaves(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) in nested data, mappings and lists included."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from leaves(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from leaves(value, (*path, i))


def free(path: tuple[Any, ...]) -> bool:
    dotted = ".".join(map(str, path))
    return any(part in dotted for part in SKIP)


def replaced(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def deleted(data: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


def spread(items: list[Any], k: int = PER_RULE) -> list[Any]:
    """At most ``k`` items, evenly spaced (deterministic)."""
    if len(items) <= k:
        return items
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def rule_cases(stem: str, data: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """``(category, name, data)`` of the rule-based mutations of one scenario."""
    numbers = [p for p, v in leaves(data) if p and not free(p)
               and isinstance(v, (int, float)) and not isinstance(v, bool)]
    mappings = [p for p, v in leaves(data) if isinstance(v, dict) and not free(p)
                and (not p or p[-1] not in ("overrides", "map", "links"))]
    # Tags choose a member of a union (kind, dist, a strategy's name); deleting one is
    # an error except model.name, which has a default.
    tags = [p for p, _ in leaves(data) if p and not free(p)
            and (p[-1] in ("kind", "dist") or p in (("strategy", "name"), ("model", "name")))]
    for p in spread(numbers):
        label = "-".join(map(str, p))
        yield "bool-as-number", f"{stem}-{label}", replaced(data, p, True)
        yield "non-finite", f"{stem}-{label}", replaced(data, p, float("inf"))
        yield "string-as-number", f"{stem}-{label}", replaced(data, p, "twelve")
    for p in spread(mappings):
        label = "-".join(map(str, p)) or "top"
        yield "unknown-key", f"{stem}-{label}", replaced(data, (*p, "bogus_key"), 1) \
            if p else {**data, "bogus_key": 1}
        if p:
            yield "list-for-mapping", f"{stem}-{label}", replaced(data, p, [1, 2])
    for p in spread(tags):
        label = "-".join(map(str, p))
        yield "wrong-tag", f"{stem}-{label}", replaced(data, p, "bogus")
        if p != ("model", "name"):
            yield "deleted-tag", f"{stem}-{label}", deleted(data, p)


def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


QUICK = """name: quick
topology: {kind: star, clients: 3}
training: {rounds: 1}
strategy: {name: snake}
"""


def yaml_cases() -> Iterator[tuple[str, str, str | bytes]]:
    """Hostile or quirky YAML text: ``(category, name, text)``."""
    laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
        f"*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n" for i in range(1, 10))
    yield "alias-bomb", "top-level", laughs + QUICK
    yield "alias-bomb", "under-a-key", QUICK + "description:\n" + "".join(
        "  " + line + "\n" for line in laughs.splitlines())
    yield "alias-bomb", "in-a-value", QUICK.replace(
        "training: {rounds: 1}", "training: {rounds: 1}\nnodes: {overrides: {n1: *b}}") \
        .replace("name: quick", "b: &b {compute: 1}\nname: quick")
    yield "alias-bomb", "recursive", "name: quick\nstrategy: &s {name: snake, loop: *s}\n"
    for depth in (100, 1000, 20000):
        yield "deep-nesting", f"lists-{depth}", QUICK + "description: " + "[" * depth + \
            "]" * depth + "\n"
        yield "deep-nesting", f"flow-maps-{depth}", QUICK + "description: " + \
            "{a: " * depth + "1" + "}" * depth + "\n"
    yield "deep-nesting", "block-maps-300", QUICK + "".join(
        "  " * i + "k:\n" for i in range(300)) + "  " * 300 + "v\n"
    yield "duplicate-key", "top", QUICK + "name: other\n"
    yield "duplicate-key", "nested", QUICK.replace("{rounds: 1}", "{rounds: 1, rounds: 2}")
    yield "duplicate-key", "strategy", QUICK + "strategy: {name: fedavg}\n"
    for name, value in [("sexagesimal", "1:30"), ("underscore", "1_0"), ("binary", "0b11"),
                        ("yes", "yes"), ("on", "on"), ("date", "2024-01-01")]:
        yield "yaml-1.1-quirk", f"rounds-{name}", QUICK.replace("{rounds: 1}",
                                                                 f"{{rounds: {value}}}")
    yield "not-a-mapping", "list", "- name: quick\n- strategy: snake\n"
    yield "not-a-mapping", "scalar", "quick\n"
    yield "not-a-mapping", "empty", ""
    yield "not-a-mapping", "null", "~\n"
    yield "not-a-mapping", "binary-junk", bytes(range(256)) * 4
    yield "not-a-mapping", "latin-1", QUICK.replace("quick", "qu\xefck").encode("latin-1")
    yield "not-a-mapping", "tab-indent", "name: quick\nstrategy:\n\tname: snake\n"
    yield "not-a-mapping", "complex-key", QUICK + "? [a, b]\n: 1\n"
    yield "not-a-mapping", "python-tag", QUICK + "x: !!python/object/apply:os.system [ls]\n"
    yield "not-a-mapping", "custom-tag", QUICK.replace("rounds: 1", "rounds: !int 1")


def scenario_cases() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Valid YAML that breaks a rule a careful validator knows: ``(category, name, data)``."""
    base = yaml.safe_load(QUICK)

    def with_(**parts: Any) -> dict[str, Any]:
        return {**copy.deepcopy(base), **parts}

    for name, topology in [("star-1e9", {"kind": "star", "clients": 10**9}),
                           ("star-float", {"kind": "star", "clients": 1e9}),
                           ("mesh-1e5", {"kind": "mesh", "nodes": 100000}),
                           ("ring-1e8", {"kind": "ring", "nodes": 10**8}),
                           ("tiered-product", {"kind": "tiered", "tiers": [
                               {"name": "a", "count": 1000}, {"name": "b", "count": 1000}]}),
                           ("geometric-dense", {"kind": "geometric", "nodes": 100000,
                                                "radius": 1e6})]:
        yield "scale", name, with_(topology=topology)
    yield "scale", "rounds-x-clients", with_(topology={"kind": "star", "clients": 100},
                                             training={"rounds": 1_000_000})
    yield "scale", "synthetic-huge", with_(data={"dataset": "synthetic", "synthetic": {
        "samples": 1_000_000, "shape": [3, 256, 256]}})
    yield "scale", "corpus-huge", with_(
        data={"dataset": "text", "text": {"corpus": {"sources": 1000,
                                                     "words_per_source": 10_000_000}}},
        model={"name": "causal_lm", "lm": {"preset": "tiny-opt"}})
    for name, section in [("explicit-group-99", {"name": "snake", "assignment": {
                              "kind": "explicit", "map": {"n1": [99]}}}),
                          ("split-cut-past-head", {"name": "split", "cut": 5}),
                          ("splitfed-cut-past-head", {"name": "splitfed", "cut": 40}),
                          ("sliding-too-wide", {"name": "snake", "window": {
                              "kind": "sliding", "width": 9}})]:
        yield "model-groups", name, with_(strategy=section)
    yield "model-groups", "lm-negative-layers", with_(
        data={"dataset": "text"},
        model={"name": "causal_lm", "lm": {"preset": "tiny-opt",
                                           "overrides": {"num_hidden_layers": -1}}})
    yield "model-groups", "lm-zero-heads", with_(
        data={"dataset": "text"},
        model={"name": "causal_lm", "lm": {"preset": "tiny-llama",
                                           "overrides": {"num_attention_heads": 0}}})
    for name, changes in [
        ("override-unknown-node", {"nodes": {"overrides": {"ghost": {"compute": 1e9}}}}),
        ("route-unknown-node", {"strategy": {"name": "snake", "route": ["n1", "ghost"]}}),
        ("route-repeats", {"strategy": {"name": "snake", "route": ["n1", "n1"]}}),
        ("server-unknown", {"strategy": {"name": "fedavg", "server": "ghost"}}),
        ("outage-unknown-node", {"outages": {"nodes": [{"node": "ghost",
                                                        "windows": [{"start": 0,
                                                                     "duration": 1}]}]}}),
        ("link-unknown-node", {"links": {"overrides": [{"between": ["n1", "ghost"]}]}}),
        ("list-length", {"nodes": {"compute": {"dist": "list", "values": [1e9]}}}),
    ]:
        yield "cross-reference", name, with_(**changes)
    for name, changes in [
        ("bandwidth-1e300", {"links": {"bandwidth": 1e300}}),
        ("bandwidth-tiny", {"links": {"bandwidth": 1e-300}}),
        ("compute-1e308", {"nodes": {"compute": 1e308}}),
        ("memory-huge", {"nodes": {"memory": "1e30 B"}}),
        ("latency-1e300", {"links": {"latency": 1e300}}),
        ("lognormal-sigma", {"nodes": {"compute": {"dist": "lognormal", "median": 1e9,
                                                   "sigma": 1000}}}),
        ("uniform-reversed", {"nodes": {"compute": {"dist": "uniform", "low": 2e9,
                                                    "high": 1e9}}}),
        ("outage-period-1us", {"outages": {"links": [{"between": ["n1", "server"],
                                                      "windows": [{"start": 0,
                                                                   "duration": "1 us",
                                                                   "period": "2 us"}]}]}}),
        ("retry-backoff-0", {"outages": {"policy": {"transfers": "retry",
                                                    "retry_backoff": 0}}}),
        ("lr-1e300", {"training": {"lr": 1e300}}),
        ("seed-negative", {"seed": -1}),
        ("split-seed-2-40", {"data": {"split_seed": 2**40}}),
        ("epochs-huge", {"training": {"local_epochs": 10**9}}),
        ("temperature-tiny", {"strategy": {"name": "snake", "distill": "on",
                                           "distill_temperature": 1e-300}}),
        ("test-fraction-1", {"data": {"test_fraction": 1.0}}),
        ("width-huge", {"model": {"name": "digits_cnn", "width": 10**6}}),
        ("hidden-huge", {"model": {"name": "mlp", "hidden": [10**9]}}),
    ]:
        yield "out-of-range", name, with_(**changes)


def file_cases(folder: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Scenarios naming a broken topology file (written into ``folder``)."""
    files: dict[str, str | bytes] = {
        "list.json": "[1, 2, 3]",
        "string.json": '"nodes"',
        "number.json": "42",
        "deep.json": "[" * 50000 + "]" * 50000,
        "no-nodes.json": '{"links": []}',
        "bad-links.json": '{"nodes": [{"id": "a"}], "links": [{"source": "a"}]}',
        "not-json.json": "{nodes: [",
        "garbage.graphml": "<graphml><graph><node id='a'/><edge",
        "entity-bomb.graphml": '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{"&lol;" * 10 if i == 1 else f"&lol{i - 1};" * 10}">'
                  for i in range(1, 10))
        + ']>\n<graphml><graph edgedefault="undirected"><node id="&lol9;"/></graph>'
        "</graphml>",
        "external-entity.graphml": '<?xml version="1.0"?>\n<!DOCTYPE g [<!ENTITY x SYSTEM '
        '"file:///etc/passwd">]>\n<graphml><graph edgedefault="undirected">'
        '<node id="&x;"/></graph></graphml>',
        "binary.graphml": bytes(range(256)),
        "good.json": json.dumps({"directed": False, "multigraph": False, "graph": {},
                                 "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
                                 "links": [{"source": "a", "target": "b", "dist": 120},
                                           {"source": "b", "target": "c", "dist": 80}]}),
    }
    for name, content in files.items():
        write(folder / name, content)
    for name in files:
        if name == "good.json":
            continue
        yield "topology-file", name.replace(".", "-"), {
            "name": "quick", "topology": {"kind": "file", "path": f"files/{name}"},
            "training": {"rounds": 1}, "strategy": {"name": "fedavg", "server": "a"}}
    for name, latency in [("unit-kg", {"attribute": "dist", "unit": "kg"}),
                          ("missing-attribute", {"attribute": "delay", "unit": "ms"})]:
        yield "topology-file", name, {
            "name": "quick", "training": {"rounds": 1},
            "topology": {"kind": "file", "path": "files/good.json", "latency": latency},
            "strategy": {"name": "fedavg", "server": "a"}}


def trace_cases(folder: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Scenarios naming a broken bandwidth trace: only a run reads it."""
    traces: dict[str, str | bytes] = {
        "header-only.csv": "time,bandwidth\n",
        "empty.csv": "",
        "nan.csv": "time,bandwidth\n0,nan\n",
        "inf.csv": "time,bandwidth\n0,inf\n",
        "negative.csv": "time,bandwidth\n0,-5\n",
        "words.csv": "time,bandwidth\n0,fast\n",
        "binary.csv": bytes(range(256)),
        "unsorted.csv": "time,bandwidth\n5,1e6\n1,1e6\n",
        "huge-time.csv": "time,bandwidth\n0,1e6\n1e400,1e6\n",
    }
    for name, content in traces.items():
        write(folder / name, content)
        yield "trace-file", name.replace(".", "-"), {
            "name": "quick", "topology": {"kind": "star", "clients": 2},
            "training": {"rounds": 1}, "strategy": {"name": "fedavg"},
            "links": {"overrides": [{"between": ["n1", "server"],
                                     "trace": f"files/{name}"}]}}


def sweep_cases() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Sweep files that must be refused (their base is ``files/base.yaml``)."""
    def sweep(**parts: Any) -> dict[str, Any]:
        return {"name": "sw", "base": "../files/base.yaml", **parts}

    yield "sweep", "bad-strategy-dicts", sweep(grid={"strategy": [
        {"name": "snake", "mode": "bogus"}, {"name": "fedavg", "fraction": 7}]})
    yield "sweep", "unknown-key", sweep(grid={"training.bogus": [1, 2]})
    yield "sweep", "empty-list", sweep(grid={"training.lr": []})
    yield "sweep", "bool-seeds", sweep(seeds=[True, False])
    yield "sweep", "zip-lengths", sweep(zip={"training.lr": [0.1, 0.2],
                                             "training.rounds": [1]})
    yield "sweep", "missing-base", {"name": "sw", "base": "../files/nowhere.yaml",
                                    "seeds": [1]}
    yield "sweep", "bad-values", sweep(grid={"training.rounds": [1, True, -3]})
    yield "sweep", "nothing", sweep()
    yield "sweep", "bad-name", {**sweep(seeds=[1]), "name": "../../escape"}


def main() -> None:
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    files = CORPUS / "files"
    manifest: list[dict[str, str]] = []

    def add(category: str, name: str, content: Any, stage: str) -> None:
        path = CORPUS / category / f"{name}.yaml"
        text = content if isinstance(content, (str, bytes)) else yaml.safe_dump(
            content, sort_keys=False, allow_unicode=True)
        write(path, text)
        manifest.append({"file": str(path.relative_to(CORPUS)), "category": category,
                         "stage": stage})

    for stem, data in shipped():
        for category, name, mutated in rule_cases(stem, data):
            add(category, name, mutated, "validate")
    for category, name, text in yaml_cases():
        add(category, name, text, "validate")
    for category, name, data in [*scenario_cases(), *file_cases(files)]:
        add(category, name, data, "validate")
    for category, name, data in trace_cases(files):
        add(category, name, data, "run")
    write(files / "base.yaml", QUICK)
    for category, name, data in sweep_cases():
        add(category, name, data, "sweep")
    manifest.sort(key=lambda entry: entry["file"])
    write(CORPUS / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    counts: dict[str, int] = {}
    for entry in manifest:
        counts[entry["category"]] = counts.get(entry["category"], 0) + 1
    print(f"{len(manifest)} cases in {CORPUS}: " + ", ".join(
        f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()

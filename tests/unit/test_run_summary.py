"""What a run summary says about each node, and how `snakesim run` prints it."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from snakesim.analysis.report import _ranges, exclusion_warning, nodes_table, summary_table
from snakesim.experiments.node_facts import event_counts, excluded_nodes, node_facts


def frames(effects: list[tuple[float, str, str, str, int]],
           computes: list[tuple[str, str]], outages: int = 0) -> dict[str, pd.DataFrame]:
    """Tables of a 3-client run with 2 rounds evaluated at 10 s and 20 s."""
    return {
        "nodes": pd.DataFrame({"node": ["n1", "n2", "n3", "server"],
                               "role": ["client"] * 3 + ["server"]}),
        "rounds": pd.DataFrame({"round": [0, 1, 1, 2], "sim_time_s": [0.0, 5.0, 10.0, 20.0]}),
        "computes": pd.DataFrame(computes, columns=["node", "groups"]),
        "effects": pd.DataFrame(
            [(t, el, ef, -1, n, c) for t, el, ef, n, c in effects],
            columns=["time_s", "element", "effect", "transfer_id", "node", "count"]),
        "outages": pd.DataFrame({"element": ["link n1-server"] * outages}),
    }


def test_groups_are_the_union_of_what_each_node_trained() -> None:
    facts = node_facts(frames([], [("n1", "0,4"), ("n1", "1,4"), ("n2", "2"),
                                   ("server", "")]))
    assert [facts[n]["groups"] for n in facts] == [[0, 1, 4], [2], [], []]
    assert list(facts) == ["n1", "n2", "n3", "server"]  # every node, in table order
    assert facts["server"]["role"] == "server"


def test_exclusions_say_what_why_and_the_round_in_progress() -> None:
    effects = [(0.0, "nodes.memory: cannot train the whole model", "excluded", "n1", 1),
               (0.0, "node n3", "out_of_storage", "n3", 1),
               (0.0, "nodes.storage: cannot keep its data and the model", "excluded", "n3", 1),
               (12.0, "link n2-server", "paused", "n2", 3),
               (25.0, "node n2", "rerouted", "n2", 1),
               (26.0, "node n2", "rerouted", "n2", 1)]
    facts = node_facts(frames(effects, [("n2", "0,1")], outages=2))
    assert facts["n1"]["excluded"] == [
        {"what": "training", "why": "nodes.memory: cannot train the whole model", "round": 1}]
    assert [(e["what"], e["round"]) for e in facts["n3"]["excluded"]] == [
        ("storage", 1), ("training", 1)]
    assert "nodes.storage" in facts["n3"]["excluded"][0]["why"]
    # Outage effects are counted per node (their `count`: flows hit), not exclusions.
    assert facts["n2"] == {"role": "client", "groups": [0, 1], "excluded": [],
                           "effects": {"paused": 3, "rerouted": 2}}
    assert excluded_nodes(facts) == ["n1", "n3"]
    assert event_counts(frames(effects, [], outages=2)) == {
        "outages": 2, "effects": {"excluded": 2, "out_of_storage": 1, "paused": 3,
                                  "rerouted": 2}}


def test_the_round_of_an_exclusion_follows_the_evaluations() -> None:
    at = [(t, "node n1", "oom", "n1", 1) for t in (0.0, 5.0, 10.0, 10.5, 99.0)]
    rounds = [e["round"] for e in node_facts(frames(at, []))["n1"]["excluded"]]
    assert rounds == [1, 1, 1, 2, 2]  # after the last evaluation: the last round
    only = frames(at[:1], [])
    only["rounds"] = only["rounds"].iloc[:1]  # `rounds: 0`: round 0 alone
    assert node_facts(only)["n1"]["excluded"][0]["round"] == 0


def summary(n: int, poor: int) -> dict[str, Any]:
    """A run summary of ``n`` clients, the first ``poor`` of them excluded for memory."""
    why = "nodes.memory: cannot train the whole model"
    nodes = {f"dev{i}": {"role": "client", "groups": [] if i < poor else [0, 1, 2, 3],
                         "excluded": [{"what": "training", "why": why, "round": 1}]
                         if i < poor else [], "effects": {}} for i in range(n)}
    nodes["server"] = {"role": "server", "groups": [], "excluded": [], "effects": {}}
    return {"run_id": "x-s1", "strategy": "fedavg", "rounds": 2, "final_accuracy": 0.9,
            "best_accuracy": 0.91, "initial_accuracy": 0.1, "total_bytes": 1e6,
            "link_bytes": 2e6, "bytes_per_round": 5e5, "sim_time_s": 3.0,
            "max_node_peak_memory_bytes": 1e6, "max_node_storage_bytes": 2e6,
            "total_flops": 1e9, "nodes": nodes,
            "excluded_nodes": [f"dev{i}" for i in range(poor)],
            "counts": {"outages": 0, "effects": {"excluded": poor}}}


def text(renderable: Any) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_the_printed_tables_group_identical_nodes_and_stay_short() -> None:
    s = summary(20, 8)
    table = nodes_table(s)
    assert table is not None and table.row_count == 2  # 8 excluded alike, 12 trained alike
    shown = text(table)
    assert "dev0, dev1, dev2, dev3 and 4 more" in shown
    assert "training from round 1: nodes.memory: cannot train the whole model" in shown
    assert "0-3" in shown and "server" not in shown  # nothing to say about the server
    head = text(summary_table(s))
    assert "initial accuracy (round 0)" in head and "0.1000" in head
    assert "excluded nodes" in head and "8 of 21" in head


def test_past_the_row_limit_the_caption_counts_the_rest() -> None:
    s = summary(30, 0)
    for i, name in enumerate(list(s["nodes"])[:30]):
        s["nodes"][name]["groups"] = [i]  # every node different
    table = nodes_table(s, max_rows=5)
    assert table is not None and table.row_count == 5
    assert table.caption == '25 more rows (25 nodes): see "nodes" in summary.json'


def test_the_warning_counts_excluded_nodes_and_points_at_the_details() -> None:
    assert exclusion_warning(summary(20, 0)) is None
    line = exclusion_warning(summary(20, 8), "results/x")
    assert line == ("8 of 21 nodes excluded (dev0, dev1, dev2, dev3 and 4 more): "
                    "nodes.memory: cannot train the whole model (8); details: \"nodes\" in "
                    "results/x/summary.json, results/x/effects.parquet")
    assert "\n" not in line


def test_summaries_without_node_facts_still_print() -> None:
    old = {k: v for k, v in summary(3, 0).items()
           if k not in ("nodes", "counts", "excluded_nodes", "initial_accuracy")}
    assert nodes_table(old) is None and exclusion_warning(old) is None
    assert "initial" not in text(summary_table(old))


@given(st.sets(st.integers(0, 60)))
def test_ranges_list_exactly_the_groups(groups: set[int]) -> None:
    shown = _ranges(sorted(groups))
    back: set[int] = set()
    for part in filter(None, shown.split(",")):
        lo, _, hi = part.partition("-")
        back.update(range(int(lo), int(hi or lo) + 1))
    assert back == groups
    # Only runs of three or more are collapsed, and each into one part.
    for part in filter(None, shown.split(",")):
        lo, dash, hi = part.partition("-")
        assert not dash or (int(hi) - int(lo) >= 2 and int(lo) - 1 not in groups
                            and int(hi) + 1 not in groups)

"""Human-readable summaries of runs (reads summaries only).

`summary_table` gives a run's headline figures, `nodes_table` what each node trained and
what it was excluded from (nodes with identical facts share a row, so a table of
hundreds of nodes stays a few rows), `exclusion_warning` the one line ``snakesim run``
prints when nodes were excluded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from snakesim.units import Dimension, format_quantity


def summary_table(summary: dict[str, Any]) -> Table:
    """A compact two-column table of a run's headline figures."""
    table = Table(title=f"{summary['run_id']} ({summary['strategy']})", show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for name, value in summary_rows(summary):
        table.add_row(name, value)
    return table


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """A run's headline figures as ``(name, value)`` text pairs, in reading order."""
    size = Dimension.SIZE
    return [
        ("rounds", str(summary["rounds"])),
        *_quality_rows(summary),
        ("payload bytes", format_quantity(summary["total_bytes"], size)),
        ("link bytes (x hops)", format_quantity(summary["link_bytes"], size)),
        ("bytes per round", format_quantity(summary["bytes_per_round"], size)),
        ("simulated time", format_quantity(summary["sim_time_s"], Dimension.TIME)),
        ("max node peak memory", format_quantity(summary["max_node_peak_memory_bytes"], size)),
        ("max node storage", format_quantity(summary["max_node_storage_bytes"], size)),
        ("total FLOPs", f"{summary['total_flops']:.3g}"),
        *_event_rows(summary),
    ]


def _quality_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Accuracy, or perplexity for a language model; a note where nothing was measured."""
    if summary.get("final_accuracy") is None:
        return [("quality", str(summary.get("quality", "not measured")))]
    if summary.get("metric") == "perplexity":
        return [*_initial(summary, "initial_perplexity", "initial perplexity (round 0)", 3),
                ("final perplexity", f"{summary['final_perplexity']:.3f}"),
                ("best perplexity", f"{summary['best_perplexity']:.3f}"),
                ("next-token accuracy", f"{summary['final_accuracy']:.4f}")]
    return [*_initial(summary, "initial_accuracy", "initial accuracy (round 0)", 4),
            ("final accuracy", f"{summary['final_accuracy']:.4f}"),
            ("best accuracy", f"{summary['best_accuracy']:.4f}")]


def _initial(summary: dict[str, Any], key: str, name: str, digits: int
             ) -> list[tuple[str, str]]:
    # Summaries written before round 0 existed have no initial figures.
    value = summary.get(key)
    return [] if value is None else [(name, f"{value:.{digits}f}")]


def _event_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Excluded nodes, outages and effects, where there were any."""
    rows = []
    excluded = summary.get("excluded_nodes") or []
    if excluded:
        rows.append(("excluded nodes", f"{len(excluded)} of {len(summary.get('nodes', {}))}"))
    counts = summary.get("counts") or {}
    if counts.get("outages"):
        rows.append(("outages", str(counts["outages"])))
    effects = counts.get("effects") or {}
    if effects:
        rows.append(("effects", ", ".join(f"{k} {v}" for k, v in effects.items())))
    return rows


MAX_NODE_ROWS = 12
"""Rows `nodes_table` prints at most; the rest are counted in its caption."""


def nodes_table(summary: dict[str, Any], max_rows: int = MAX_NODE_ROWS) -> Table | None:
    """What each node trained, what it was excluded from and why, and what hit it.

    Nodes with identical facts share one row; nodes with nothing to say (a relay that
    trained nothing and was never hit) are left out; past ``max_rows`` rows the caption
    says how many more there are. None when no node has anything to say (or the
    summary predates per-node facts).
    """
    facts: dict[str, dict[str, Any]] = summary.get("nodes") or {}
    rows: dict[tuple[str, str, str], list[str]] = {}
    for node, fact in facts.items():
        key = (_ranges(fact["groups"]),
               "; ".join(f"{e['what']} from round {e['round']}: {e['why']}"
                         for e in fact["excluded"]),
               ", ".join(f"{k} {v}" for k, v in fact["effects"].items()))
        if any(key):
            rows.setdefault(key, []).append(node)
    if not rows:
        return None
    table = Table(title="nodes")
    for name in ("nodes", "trained groups", "excluded from (why)", "effects"):
        table.add_column(name, overflow="fold")
    for (groups, excluded, effects), nodes in list(rows.items())[:max_rows]:
        table.add_row(_names(nodes), groups or "none", excluded or "-", effects or "-")
    if len(rows) > max_rows:
        hidden = sum(len(n) for n in list(rows.values())[max_rows:])
        table.caption = (f"{len(rows) - max_rows} more rows ({hidden} nodes): see "
                         "\"nodes\" in summary.json")
    return table


def exclusion_warning(summary: dict[str, Any], folder: str = "") -> str | None:
    """One line saying how many nodes were excluded and why, or None if none were.

    ``folder`` (the run's results folder) is named where the line points at details.
    """
    facts: dict[str, dict[str, Any]] = summary.get("nodes") or {}
    excluded = [n for n, f in facts.items() if f["excluded"]]
    if not excluded:
        return None
    # Each node counts once, under its first reason: a storage shortfall and the
    # strategy's decision it led to (FedAvg) are one cause.
    whys = Counter(facts[n]["excluded"][0]["why"] for n in excluded)
    reasons = "; ".join(f"{why} ({count})" for why, count in whys.items())
    where = f"{folder.rstrip('/')}/" if folder else ""
    return (f"{len(excluded)} of {len(facts)} nodes excluded ({_names(excluded)}): "
            f"{reasons}; details: \"nodes\" in {where}summary.json, {where}effects.parquet")


def _names(nodes: Sequence[str], show: int = 4) -> str:
    """``a, b, c`` or ``a, b, c, d and 7 more``."""
    if len(nodes) <= show + 1:
        return ", ".join(nodes)
    return f"{', '.join(nodes[:show])} and {len(nodes) - show} more"


def _ranges(groups: Sequence[int]) -> str:
    """``0-3,5,6``: sorted groups, runs of three or more consecutive ones collapsed."""
    parts: list[str] = []
    start = prev = None
    for g in [*sorted(groups), None]:
        if g is not None and prev is not None and g == prev + 1:
            prev = g
            continue
        if start is not None and prev is not None:
            parts.append(f"{start}-{prev}" if prev - start >= 2
                         else ",".join(map(str, range(start, prev + 1))))
        start = prev = g
    return ",".join(parts)

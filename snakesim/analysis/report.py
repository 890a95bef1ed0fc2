"""Human-readable summaries of runs (reads summaries only)."""

from __future__ import annotations

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
    ]


def _quality_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Accuracy, or perplexity for a language model; a note where nothing was measured."""
    if summary.get("final_accuracy") is None:
        return [("quality", str(summary.get("quality", "not measured")))]
    if summary.get("metric") == "perplexity":
        return [("final perplexity", f"{summary['final_perplexity']:.3f}"),
                ("best perplexity", f"{summary['best_perplexity']:.3f}"),
                ("next-token accuracy", f"{summary['final_accuracy']:.4f}")]
    return [("final accuracy", f"{summary['final_accuracy']:.4f}"),
            ("best accuracy", f"{summary['best_accuracy']:.4f}")]

"""The ``compare`` command: separate runs side by side, optionally at equal quality."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from snakesim.cli.app import _friendly, app, out

if TYPE_CHECKING:
    from rich.table import Table

    from snakesim.config.targets import QualityTarget


@app.command()
@_friendly
def compare(
    dirs: list[Path] = typer.Argument(..., help="Run folders written by 'snakesim run' "
                                      "(or point folders of a sweep)."),
    target_accuracy: float | None = typer.Option(
        None, "--target-accuracy", help="Add the time, bytes, energy and FLOPs each run "
        "spent until its first evaluation with test accuracy >= this (0 to 1)."),
    target_perplexity: float | None = typer.Option(
        None, "--target-perplexity", help="The same for language models: until the first "
        "evaluation with held-out perplexity <= this (at least 1)."),
    csv: str | None = typer.Option(None, "--csv", help="Also write the table as CSV "
                                   "(plain numbers in bytes, seconds, joules) to this file; "
                                   "'-' for standard output instead of the table."),
    markdown: str | None = typer.Option(None, "--markdown", help="Also write the table as "
                                        "Markdown to this file; '-' for standard output "
                                        "instead of the table."),
) -> None:
    """One table of the key figures of each run; with a target, the cost of reaching it."""
    from snakesim.analysis.compare import compare_runs, display_rows, markdown_table
    from snakesim.errors import ResultsError

    if csv == "-" and markdown == "-":
        raise ResultsError("--csv, --markdown: only one of them can go to standard "
                           "output ('-')")
    target = _target(target_accuracy, target_perplexity)
    table = compare_runs(dirs, target)
    headers, cells = display_rows(table)
    if csv is not None:
        text = table.to_csv(index=False, na_rep="NaN", float_format="%.10g")
        _write(csv, text, "--csv")
    if markdown is not None:
        title = f"Runs compared at {target.describe()}\n\n" if target else ""
        _write(markdown, title + markdown_table(headers, cells), "--markdown")
    if "-" not in (csv, markdown):
        out.print(_rich_table(headers, cells,
                              f"at {target.describe()}" if target else None))


def _target(accuracy: float | None, perplexity: float | None) -> QualityTarget | None:
    """The `QualityTarget` of the options (None without one), checked."""
    from pydantic import ValidationError

    from snakesim.config.loading import problems_from
    from snakesim.config.targets import QualityTarget
    from snakesim.errors import ResultsError

    if accuracy is not None and perplexity is not None:
        raise ResultsError("--target-accuracy, --target-perplexity: give one target, "
                           "not both")
    given = {k: v for k, v in (("accuracy", accuracy), ("perplexity", perplexity))
             if v is not None}
    if not given:
        return None
    try:
        return QualityTarget.model_validate(given)
    except ValidationError as error:
        problem = problems_from(error, given)[0]
        raise ResultsError(f"--target-{problem.where}: {problem.rule} "
                           f"(got {problem.value})") from None


def _write(where: str, text: str, option: str) -> None:
    from snakesim.experiments.store import atomic_write

    if where == "-":
        sys.stdout.write(text)
        return
    path = Path(where)
    if path.is_dir():
        from snakesim.errors import ResultsError

        raise ResultsError(f"{option}: {path}: is a folder, not a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    out.print(f"wrote {path}", highlight=False)


def _rich_table(headers: list[str], cells: list[list[str]], caption: str | None) -> Table:
    """One run per row where that fits the terminal; else one run per column."""
    from rich.cells import cell_len
    from rich.table import Table

    title = f"{len(cells)} runs" + (f" {caption}" if caption else "")
    table = Table(title=title)
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i < 3 else "right", no_wrap=True)
    for row in cells:
        table.add_row(*row)
    # The table's natural width: each column's widest cell plus its borders and padding.
    widths = [max(cell_len(v) for v in column) for column in zip(headers, *cells, strict=True)]
    if sum(widths) + 3 * len(widths) + 1 <= out.width:
        return table
    turned = Table(title=title)
    turned.add_column(headers[0], style="bold", no_wrap=True)
    for row in cells:
        turned.add_column(row[0], justify="right")
    for i, header in enumerate(headers[1:], start=1):
        turned.add_row(header, *(row[i] for row in cells))
    return turned

"""The shipped examples on the command line: ``examples``, ``init``, and running one by
name (`scenario_file`, used by ``run``, ``sweep`` and ``validate``)."""

from __future__ import annotations

from pathlib import Path

import typer

from snakesim.cli.app import _friendly, app, err, out


@app.command()
@_friendly
def examples() -> None:
    """List the example scenarios and sweeps that ship with snakesim."""
    from snakesim.examples import list_examples

    rows = [("name", "kind", "description")]
    rows += [(e.name, e.kind, e.description) for e in list_examples()]
    # Plain aligned lines, one per example, never wrapped: easy to read and to grep.
    width = max(len(name) for name, _, _ in rows)
    for name, kind, description in rows:
        out.print(f"{name:<{width}}  {kind:<8}  {description}", markup=False,
                  highlight=False, soft_wrap=True)
    out.print("copy one with `snakesim init NAME [DIR]`, or run it as it is with "
              "`snakesim run NAME` (`snakesim sweep NAME` for a sweep)", highlight=False)


@app.command()
@_friendly
def init(
    name: str = typer.Argument(..., help="Example name (see `snakesim examples`)."),
    folder: Path = typer.Argument(Path("."), help="Where to copy it [default: the "
                                  "current folder]."),
) -> None:
    """Copy a shipped example (and the files it reads) into a folder, to edit and run.

    Nothing is overwritten: if any of the files exists, nothing is copied.
    """
    from snakesim.examples import PREFIX, copy_example, find_example

    written = copy_example(name, folder)
    for path in written:
        out.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)
    example = find_example(name)
    command = "sweep" if example.kind == "sweep" else "run"
    if any(p.relative_to(folder).as_posix().startswith(PREFIX) for p in written[1:]):
        # It reads a file relative to the working folder (a topology): run it from there.
        out.print(f"run it from {folder}: cd {folder} && snakesim {command} "
                  f"{written[0].relative_to(folder)}", markup=False, highlight=False,
                  soft_wrap=True)
    else:
        out.print(f"run it: snakesim {command} {written[0]}", markup=False, highlight=False,
                  soft_wrap=True)


def scenario_file(file: Path) -> Path:
    """``file``, or the shipped example it names when there is no such file.

    Says so in one line on stderr. An unknown name raises the located error of
    `snakesim.examples.find_example`.
    """
    from snakesim.examples import shipped_instead

    example = shipped_instead(file)
    if example is None:
        return file
    err.print(f"{file}: no such file; using the shipped example {example.name} "
              f"({example.path})", markup=False, highlight=False, soft_wrap=True)
    return example.path

"""The example scenarios and sweeps that ship with snakesim: list, find and copy them.

The repository's top-level ``scenarios/`` folder is their one source of truth. A wheel
carries a copy of it as ``snakesim/scenarios/`` (made by the build, see ``setup.py``); a
checkout (or an editable install) reads the folder itself. `examples_root` finds
whichever there is.

An example's name is its path in that folder without ``.yaml`` (``quickstart``,
``sweeps/heterogeneity``, ``llm/tiny-opt-snake``); its last part alone also names it
when no other example ends the same way (``heterogeneity``). A leading ``scenarios/``
and a trailing ``.yaml`` are accepted too, so the README's ``scenarios/quickstart.yaml``
names the quick start wherever snakesim is installed.

Examples may refer to other files: a sweep's ``base`` (relative to the sweep file) and
paths that are relative to the working folder and start with ``scenarios/`` (a
topology file). `copy_example` copies them along, each where the reference expects it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml

from snakesim.errors import ConfigurationError

PREFIX = "scenarios/"
"""How a scenario file names a shipped file relative to the working folder."""
_MAX_DESCRIPTION = 100


@dataclass(frozen=True)
class Example:
    """One shipped scenario or sweep file.

    Parameters
    ----------
    name
        Its path in the examples' folder without ``.yaml`` (``sweeps/heterogeneity``).
    path
        The file itself.
    kind
        ``scenario``, or ``sweep`` for a file with a ``base`` and no ``strategy``.
    description
        One line: the file's ``description`` key, else the first sentence of its
        leading comment.
    """

    name: str
    path: Path
    kind: Literal["scenario", "sweep"]
    description: str


def examples_root() -> Path:
    """The folder of the shipped examples: in the installed package, else the checkout's.

    Raises
    ------
    ConfigurationError
        When neither exists (a broken install).
    """
    # snakesim is a regular package on the file system, so `files` gives a real path
    # (the examples are read with open(), and handed to the loaders as paths).
    packaged = Path(str(resources.files("snakesim"))) / "scenarios"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "scenarios"
    if checkout.is_dir():
        return checkout
    raise ConfigurationError(f"examples: no example folder at {packaged} nor {checkout} "
                             "(reinstall snakesim)")


def list_examples() -> list[Example]:
    """Every shipped scenario and sweep, sorted by name."""
    root = examples_root()
    return [_example(root, file) for file in sorted(root.rglob("*.yaml"))]


def _example(root: Path, file: Path) -> Example:
    data, text = _read(file)
    kind: Literal["scenario", "sweep"] = \
        "sweep" if "base" in data and "strategy" not in data else "scenario"
    name = file.relative_to(root).with_suffix("").as_posix()
    return Example(name, file, kind, _description(data, text))


def _read(file: Path) -> tuple[dict[str, Any], str]:
    text = file.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return (data if isinstance(data, dict) else {}), text


def _description(data: dict[str, Any], text: str) -> str:
    given = data.get("description")
    if isinstance(given, str) and given.strip():
        return _shorten(" ".join(given.split()))
    comment: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("#").strip())
    joined = " ".join(part for part in comment if part)
    for end in (". ", "? ", "! "):
        if end in joined:
            joined = joined[: joined.index(end) + 1]
    return _shorten(joined)


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 3] + "..."


def find_example(name: str) -> Example:
    """The example called ``name`` (see the module docstring for the accepted forms).

    Raises
    ------
    ConfigurationError
        ``NAME: no such example`` (with the closest names), or ``NAME: ambiguous``
        naming the examples it could mean.
    """
    found = _matches(name)
    if len(found) == 1:
        return found[0]
    if found:
        raise ConfigurationError(f"{name}: ambiguous example name; one of "
                                 f"{', '.join(e.name for e in found)}")
    stem = PurePosixPath(_key(name)).name
    near = [e.name for e in list_examples() if stem and stem in e.name][:5]
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise ConfigurationError(f"{name}: no such file or shipped example (`snakesim "
                             f"examples` lists them){hint}")


def _key(name: str) -> str:
    key = name.replace("\\", "/").removeprefix("./").removeprefix(PREFIX)
    return key.removesuffix(".yaml").removesuffix(".yml")


def _matches(name: str) -> list[Example]:
    key = _key(name)
    examples = list_examples()
    exact = [e for e in examples if e.name == key]
    if exact or "/" in key:
        return exact
    return [e for e in examples if PurePosixPath(e.name).name == key]


def shipped_instead(file: Path) -> Example | None:
    """The example ``file`` names when no such file exists; None when it exists.

    A missing file that names no example is left to the loader to report (``x.yaml:
    no such file``), unless it looks like a name (no ``.yaml``, not absolute): then the
    `find_example` error (with the closest names) is raised; so is an ambiguous name.
    An example that reads other files relative to the working folder (a topology
    file) is only returned when those are there; otherwise a clear error says to copy
    it with ``snakesim init`` first.
    """
    if file.exists():
        return None
    looks_like_name = not file.is_absolute() and file.suffix not in (".yaml", ".yml")
    if not _matches(str(file)) and not looks_like_name:
        return None
    example = find_example(str(file))
    missing = [ref for _, ref in _references(example) if not Path(ref).exists()]
    if missing:
        raise ConfigurationError(
            f"{file}: the shipped example {example.name} reads {', '.join(missing)} "
            "relative to the working folder, which has none; copy it with `snakesim init "
            f"{example.name} DIR` and run it from DIR")
    return example


def _references(example: Example) -> list[tuple[Path, str]]:
    """The shipped files ``example`` reads relative to the working folder, as
    ``(shipped file, path as written)``; for a sweep, those of its base too."""
    root = examples_root()
    found: dict[str, Path] = {}
    for file in _with_bases(example.path):
        data, _ = _read(file)
        for value in _strings(data):
            if value.startswith(PREFIX) and (root / value.removeprefix(PREFIX)).is_file():
                found[value] = root / value.removeprefix(PREFIX)
    return [(source, ref) for ref, source in sorted(found.items())]


def _with_bases(file: Path) -> list[Path]:
    """``file`` and, following ``base`` keys, every scenario file it builds on."""
    chain = [file]
    while True:
        data, _ = _read(chain[-1])
        base = data.get("base")
        if not isinstance(base, str) or "strategy" in data:
            return chain
        parent = (chain[-1].parent / base).resolve()
        if not parent.is_file() or parent in chain:
            return chain
        chain.append(parent)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def copy_plan(example: Example, folder: Path) -> list[tuple[Path, Path]]:
    """What `copy_example` copies: ``(shipped file, destination)`` pairs.

    The example and its bases keep their places relative to each other (a sweep's
    ``base: ../quickstart.yaml`` still finds it); files read relative to the working
    folder go to the same relative path under ``folder`` (with the licence files
    beside them), so the copy runs from ``folder``.
    """
    root = examples_root()
    plan = [(file, folder / file.resolve().relative_to(root.resolve()))
            for file in _with_bases(example.path)]
    for source, ref in _references(example):
        plan.append((source, folder / ref))
        plan.extend((extra, (folder / ref).parent / extra.name)
                    for extra in sorted(source.parent.glob("LICENSE*")))
    unique: dict[Path, Path] = {}
    for source, target in plan:
        unique.setdefault(target, source)
    return [(source, target) for target, source in unique.items()]


def copy_example(name: str, folder: Path) -> list[Path]:
    """Copy the example ``name`` and the files it reads into ``folder``.

    Returns the files written, the example first.

    Raises
    ------
    ConfigurationError
        For an unknown name, or when any destination exists (nothing is copied then).
    """
    example = find_example(name)
    plan = copy_plan(example, folder)
    taken = [str(target) for _, target in plan if target.exists() or target.is_symlink()]
    if taken:
        raise ConfigurationError(f"{taken[0]}: exists; not overwritten (remove it or "
                                 "choose another folder)" + (
                                     f" (and {len(taken) - 1} more)" if len(taken) > 1
                                     else ""))
    written: list[Path] = []
    for source, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as src, target.open("xb") as dst:  # "x": never overwrite
            shutil.copyfileobj(src, dst)
        written.append(target)
    return written

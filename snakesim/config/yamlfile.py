"""The YAML reader scenarios and sweeps go through.

Files are read through `snakesim.config.textfile.read_bounded` (refused over
``SNAKESIM_MAX_FILE_MB`` before reading). YAML is then parsed by `CoreLoader`:

- a `yaml.SafeLoader` (no Python objects) restricted to the **YAML 1.2 core schema**:
  ``true``/``false`` are the only booleans, ``null``/``~``/empty the only null, ints
  are decimal, ``0o`` octal or ``0x`` hex, floats include ``1e9``, ``.inf`` and ``.nan``;
  YAML 1.1's ``yes``/``no``/``on``/``off``, ``1:30``, ``0b1``, ``1_000`` and dates stay
  strings (a bare ``on`` is the string ``"on"``);
- a key given twice in one mapping is an error at its second occurrence;
- nesting deeper than ``SNAKESIM_MAX_DEPTH`` and documents that expand (through
  aliases) to more than ``SNAKESIM_MAX_YAML_NODES`` nodes are refused while composing,
  before anything is expanded, so an alias bomb costs no more than its own text;
- keys must be strings, numbers, booleans or null.

Every failure is one `ScenarioError` located at ``file:line:col``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, cast

import yaml
from yaml.error import MarkedYAMLError
from yaml.events import AliasEvent, CollectionStartEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from snakesim.config.limits import Limits, current_limits, variable_of
from snakesim.config.textfile import NotUtf8, decode_utf8, line_col
from snakesim.errors import Problem, ScenarioError


class _PythonEvents(Reader, Scanner, Parser):
    """PyYAML's own reader, scanner and parser: the event source without libyaml."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)


def _event_source() -> Any:
    # libyaml parses ~30x faster than PyYAML's Python parser (same events); composing,
    # where the limits are enforced, stays in Python either way.
    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        return _PythonEvents
    return CParser


_EVENTS: Any = _event_source()


def parse_yaml(data: bytes | str, source: str, limits: Limits | None = None) -> Any:
    """The plain data (dicts, lists, str, int, float, bool, None) of one YAML document.

    Parameters
    ----------
    data
        The file's bytes (UTF-8) or text.
    source
        The file name errors start with.
    limits
        The limits in force (default: `current_limits`).

    Raises
    ------
    ScenarioError
        One located problem: not UTF-8, a YAML syntax error, a duplicate or non-scalar
        key, nesting too deep, too many nodes, an unsupported tag.
    """
    if isinstance(data, bytes):
        try:
            data = decode_utf8(data)
        except NotUtf8 as err:  # "cannot read:" as for any file that cannot be read
            raise ScenarioError(source, [_problem(f"cannot read: {err} at line {err.line}, "
                                                  f"column {err.column}")]) from None
    limits = limits or current_limits()
    loader: CoreLoader | None = None
    try:
        loader = CoreLoader(data, limits)  # PyYAML's reader checks the characters here
        node = loader.get_single_node()
        return None if node is None else loader.construct_document(node)
    except Refused as err:
        raise ScenarioError(_yaml_location(source, err, data), [_problem(str(err.problem))]) \
            from None
    except yaml.YAMLError as err:
        raise ScenarioError(_yaml_location(source, err, data),
                            [_problem(f"YAML syntax error: {_yaml_problem(err)}")]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _problem(rule: str) -> Problem:
    return Problem("", rule, None, False)


def _yaml_location(source: str, err: yaml.YAMLError, text: str) -> str:
    mark = getattr(err, "problem_mark", None)
    if mark is not None:
        return f"{source}:{mark.line + 1}:{mark.column + 1}"
    position = getattr(err, "position", None)  # a ReaderError: a character offset
    if isinstance(position, int):
        line, column = line_col(text[:position])
        return f"{source}:{line}:{column}"
    return source


# libyaml words a few problems differently from PyYAML; keep the wording users know.
_WORDING = {"mapping values are not allowed in this context":
            "mapping values are not allowed here"}


def _yaml_problem(err: yaml.YAMLError) -> str:
    problem = getattr(err, "problem", None)
    if not problem:
        reason = getattr(err, "reason", None)  # ReaderError: `character` is a code point
        character = getattr(err, "character", None)
        if reason and isinstance(character, int):
            return f"{reason} (got {chr(character)!r})"
        return str(err).splitlines()[0]
    text = " ".join(str(problem).split())
    context = getattr(err, "context", None)
    if text.startswith("but ") and context:  # "expected a single document ... but found"
        text = f"{context} {text}"
    return _WORDING.get(text, text)


# ----------------------------------------------------------------------------- loader
class Refused(MarkedYAMLError):
    """A document that parses but is refused (a limit, a duplicate key, a tag), located."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(None, None, problem, mark)


class CoreLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` with the YAML 1.2 core schema, duplicate-key and size checks.

    Events come from libyaml when PyYAML has it (same events, much faster); composing
    the node graph, where nesting depth and alias expansion are bounded, is PyYAML's
    composer with the checks below.

    Parameters
    ----------
    text
        The document.
    limits
        ``max_depth`` bounds nesting, ``max_yaml_nodes`` the nodes after expansion.
    """

    # Own tables, filled below: nothing is inherited from SafeLoader's YAML 1.1 ones.
    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's class table)
    yaml_constructors: ClassVar[dict[str | None, Any]] = {}
    yaml_multi_constructors: ClassVar[dict[str | None, Any]] = {}

    def __init__(self, text: str, limits: Limits) -> None:
        super().__init__(text)
        self._events: Any = _EVENTS(text)
        self._limits = limits
        self._expanded = 0  # nodes of the document so far, with every alias expanded
        self._open: list[list[int]] = []  # per open collection: [expanded size, height]
        self._measured: dict[int, tuple[int, int]] = {}  # anchored node -> size, height

    # The composer reads its events from `_EVENTS` (libyaml when present).
    def check_event(self, *choices: Any) -> bool:
        """Whether the next event is one of ``choices`` (any event if none)."""
        return bool(self._events.check_event(*choices))

    def peek_event(self) -> Any:
        """The next event, left in place."""
        return self._events.peek_event()

    def get_event(self) -> Any:
        """The next event, consumed."""
        return self._events.get_event()

    def dispose(self) -> None:
        """Release the parser's state."""
        self._events.dispose()

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        """The tag of a node without an explicit one: the core schema's for plain scalars.

        The same answer as PyYAML's (there are no path resolvers), without its lookups
        per node, which dominate composing a large flat document.
        """
        if kind is ScalarNode:
            if implicit[0]:
                for tag, pattern in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if pattern.match(value):
                        return str(tag)
            return self.DEFAULT_SCALAR_TAG
        return self.DEFAULT_SEQUENCE_TAG if kind is SequenceNode else self.DEFAULT_MAPPING_TAG

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose one node, refusing it when it nests or expands the document too far.

        Sizes are kept per anchored node, so an alias adds its anchor's expanded size in
        one step; an alias to a node still being composed is a recursive structure.
        """
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)  # an undefined alias fails here
            known = self._measured.get(id(node))
            if known is None:
                raise self._refuse(event, f"alias *{event.anchor} is used inside its own "
                                          "anchor (a recursive structure)")
            size, height = known
            self._grow(size, event)
            if len(self._open) + height > self._limits.max_depth:
                raise self._refuse(event, f"alias *{event.anchor} nests the document deeper "
                                          f"than {self._limits.max_depth} levels (set "
                                          f"{variable_of('max_depth')} to raise the limit)")
            self._add_to_parent(size, height)
            return node
        nested = isinstance(event, CollectionStartEvent)
        if nested and len(self._open) >= self._limits.max_depth:
            raise self._refuse(event, f"nested deeper than {self._limits.max_depth} levels "
                                      f"(set {variable_of('max_depth')} to raise the limit)")
        self._grow(1, event)
        if nested:
            self._open.append([1, 0])
        try:
            node = super().compose_node(parent, index)
        finally:
            size, height = self._open.pop() if nested else (1, -1)
        self._add_to_parent(size, height + 1)
        if event.anchor is not None and node is not None:
            self._measured[id(node)] = (size, height + 1)
        return node

    def _grow(self, size: int, event: Event) -> None:
        self._expanded += size
        if self._expanded > self._limits.max_yaml_nodes:
            raise self._refuse(event, f"the document expands to more than "
                                      f"{self._limits.max_yaml_nodes} nodes (set "
                                      f"{variable_of('max_yaml_nodes')} to raise the limit)")

    def _add_to_parent(self, size: int, height: int) -> None:
        if self._open:
            self._open[-1][0] += size
            self._open[-1][1] = max(self._open[-1][1], height)

    @staticmethod
    def _refuse(event: Event, problem: str) -> Refused:
        return Refused(problem, event.start_mark)

    def construct_undefined(self, node: Node) -> Any:
        """Refuse a tag outside the core schema (``!!python/...``, ``!!binary``, ``!x``)."""
        tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
        raise Refused(f"tag {tag} is not supported (plain YAML 1.2 only: strings, numbers, "
                      "true/false, null, lists, mappings)", node.start_mark)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A dict of ``node``; a key given twice or a non-scalar key is a located error."""
        if not isinstance(node, MappingNode):
            raise Refused(f"expected a mapping, but found {node.id}", node.start_mark)
        mapping: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            where = key_node.start_mark
            if not isinstance(key_node, ScalarNode):
                raise Refused(f"a key must be a string or a number (got a {key_node.id})",
                              where)
            if key_node.value == "<<" and not key_node.style:  # plain: None or ''
                raise Refused("merge keys (<<) are YAML 1.1; write the keys out", where)
            key = self.construct_object(key_node, deep=deep)
            if key in first_line:
                raise Refused(f"duplicate key {key_node.value!r} (first at line "
                              f"{first_line[key]})", where)
            first_line[key] = where.line + 1
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_core_bool(self, node: ScalarNode) -> bool:
        """``true``/``false`` in any of the core schema's three spellings."""
        text = self.construct_scalar(node)
        if text not in _BOOLS:
            raise Refused(f"not a YAML 1.2 boolean: {text[:40]!r}", node.start_mark)
        return _BOOLS[text]

    def construct_core_int(self, node: ScalarNode) -> int:
        """A decimal, ``0o`` octal or ``0x`` hex integer."""
        text = self.construct_scalar(node)
        if not _INT.fullmatch(text):
            raise Refused(f"not a YAML 1.2 integer: {text[:40]!r}", node.start_mark)
        base = {"0o": 8, "0x": 16}.get(text[:2], 10)
        try:
            return int(text[2:] if base != 10 else text, base)
        except ValueError:  # Python refuses decimal ints of more than 4300 digits
            raise Refused(f"an integer of {len(text)} digits is too long",
                          node.start_mark) from None

    def construct_core_float(self, node: ScalarNode) -> float:
        """A float, ``.inf``, ``-.inf`` or ``.nan``."""
        text = self.construct_scalar(node)
        if _FLOAT.fullmatch(text):
            return float(text)
        if _SPECIAL_FLOAT.fullmatch(text):
            return float(text.replace(".", "").lower())
        raise Refused(f"not a YAML 1.2 float: {text[:40]!r}", node.start_mark)


_BOOLS = {"true": True, "True": True, "TRUE": True,
          "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_NULL = re.compile(r"~|null|Null|NULL|")

# The core schema's implicit resolvers (YAML 1.2.2, section 10.3.2), int before float.
for _tag, _pattern, _first in [
    ("null", _NULL, ["~", "n", "N", ""]),
    ("bool", re.compile("|".join(_BOOLS)), list("tTfF")),
    ("int", _INT, list("-+0123456789")),
    ("float", _FLOAT, list("-+.0123456789")),
    ("float", _SPECIAL_FLOAT, list("-+.")),
]:
    CoreLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}",
                                     re.compile(rf"(?:{_pattern.pattern})\Z"), _first)

# Only the core schema's tags; any other (!!python/..., !!binary, !!timestamp, !foo) is
# an error at the node.
for _tag, _build in [
    ("null", yaml.SafeLoader.construct_yaml_null),
    ("bool", CoreLoader.construct_core_bool),
    ("int", CoreLoader.construct_core_int),
    ("float", CoreLoader.construct_core_float),
    ("str", yaml.SafeLoader.construct_yaml_str),
    ("seq", yaml.SafeLoader.construct_yaml_seq),
    ("map", yaml.SafeLoader.construct_yaml_map),
]:
    CoreLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", cast(Any, _build))
CoreLoader.add_constructor(None, CoreLoader.construct_undefined)

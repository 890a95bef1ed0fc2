"""Writing YAML that reads back as written, under YAML 1.1 and 1.2 readers alike.

PyYAML's dumper quotes a string only where its own (YAML 1.1) reader would take it for
something else, so ``"1e9"`` or ``"0o17"`` would be written bare and come back as
numbers through snakesim's YAML 1.2 reader (`snakesim.config.yamlfile`). This dumper
knows both schemas' implicit types and quotes a string that either would change.
"""

from __future__ import annotations

from typing import Any

import yaml

from snakesim.config.yamlfile import CoreLoader


class QuotingDumper(yaml.SafeDumper):
    """A safe dumper that quotes every string a YAML 1.1 or 1.2 reader would retype."""


for _first, _entries in CoreLoader.yaml_implicit_resolvers.items():
    for _tag, _pattern in _entries:
        QuotingDumper.add_implicit_resolver(_tag, _pattern, [_first] if _first else None)


def dump_yaml(data: Any, **options: Any) -> str:
    """``yaml.safe_dump`` with `QuotingDumper`: the text reads back as ``data``."""
    text: str = yaml.dump(data, Dumper=QuotingDumper, **options)
    return text

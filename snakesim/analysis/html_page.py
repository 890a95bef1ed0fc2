"""Self-contained HTML pages: figures embedded as PNG data, tables, folded sections.

Shared by the sweep report (`sweep_report`) and the run report (`run_report`); a page
needs no other file, so it can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import html
from io import BytesIO
from pathlib import Path

from matplotlib.figure import Figure

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1300px;
       padding: 0 1rem; }
figure { margin: 1rem 0; } img { max-width: 100%; }
table { border-collapse: collapse; font-size: 0.85rem; }
td, th { padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd; text-align: right;
         white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
table.key td { white-space: normal; }
details { margin: 1rem 0; } summary { cursor: pointer; font-weight: 600; }
.scroll { overflow-x: auto; }
pre { background: #f6f6f6; padding: 1rem; overflow-x: auto; }
.note { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.6rem 1rem; }
.muted { color: #666; font-size: 0.9rem; }
"""


def embed(stem: str, figure: Figure, caption: str | None = None) -> str:
    """``figure`` as an ``<img>`` holding its PNG, with a caption."""
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure><img alt="{html.escape(stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption or stem)}</figcaption></figure>")


def folded(summary: str, body: str) -> str:
    """A ``<details>`` section, closed until clicked."""
    return f"<details><summary>{html.escape(summary)}</summary>{body}</details>"


def page(title: str, body: str) -> str:
    """A whole HTML document."""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            f"{body}\n</body></html>\n")


def write_atomically(target: Path, text: str) -> Path:
    """Write ``text`` to a temporary name beside ``target``, then rename it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target

"""Markdown building blocks of the report, and its HTML rendering."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd


def fmt(value: Any, digits: int = 2, *, signed: bool = False) -> str:
    """Number -> fixed-point text; None/NaN/-1 (COCO's 'undefined') -> an en dash."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or value == -1.0)):
        return "–"
    if isinstance(value, int | float):
        value = round(value, digits) + 0.0  # no "-0.00" from float noise
        return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (cells already formatted or formatted by :func:`fmt`)."""

    def cell(v: Any) -> str:
        return (v if isinstance(v, str) else fmt(v)).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def paired_table(summary: pd.DataFrame, names: dict[str, str], a: str, b: str) -> str:
    """Rows of :func:`hqseg.report.stats.paired_summary` as a Markdown table."""
    rows = []
    for r in summary.itertuples():
        ci = f"[{fmt(r.ci_low, signed=True)}, {fmt(r.ci_high, signed=True)}]"
        metric = {"iou_pct": "IoU", "biou_pct": "Boundary IoU"}.get(r.metric, r.metric)
        rows.append(
            [
                names.get(r.benchmark, r.benchmark),
                metric,
                str(r.n),
                fmt(r.mean_diff, signed=True),
                ci,
                f"{r.wins} / {r.losses} / {r.ties}",
            ]
        )
    return table(
        [
            "benchmark",
            "metric",
            "images",
            f"mean Δ ({b} − {a}, % points)",
            "95% CI (% points)",
            f"{b} wins / losses / ties",
        ],
        rows,
    )


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #ddd; }
code { background: #f6f6f6; padding: 0 0.2em; }
blockquote { border-left: 4px solid #d1495b; margin-left: 0; padding-left: 1em; color: #555; }
"""


def to_html(markdown: str, title: str, *, images_from: Path | None = None) -> str:
    """Render the report's Markdown to a standalone HTML page (tables enabled).

    ``images_from``: the folder relative image paths are read from; each such image is
    embedded as a ``data:`` URI, so the page is one file that can be shared. An image
    that is missing or lies outside that folder keeps its link.
    """
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable("table")
    if images_from is not None:
        render_image = parser.renderer.rules["image"]

        def embedded(_renderer, tokens, idx, options, env):
            token = tokens[idx]
            token.attrSet("src", _data_uri(images_from, token.attrGet("src") or ""))
            return render_image(tokens, idx, options, env)

        parser.add_render_rule("image", embedded)
    body = parser.render(markdown)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )


_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


def _data_uri(root: Path, src: str) -> str:
    """``src`` (relative to ``root``) as a base64 ``data:`` URI; ``src`` itself when it is
    not a file inside ``root`` of a known image type."""
    import base64

    path = (root / src).resolve()
    mime = _MIME.get(path.suffix.lower())
    if mime is None or not path.is_relative_to(root.resolve()) or not path.is_file():
        return src
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"

"""``dvc plots``, offline: every plot of dvc.yaml drawn by matplotlib into one HTML file.

``dvc plots show`` writes an HTML page that loads Vega from a CDN, so offline its panels
are blank, and dvc-render ships no local copy of the scripts. This reads the same data
(``dvc plots show --json --split``: each plot's rows, x and y fields and revisions) and
draws each plot as a PNG embedded in the page as a ``data:`` URI: one file, no script,
no network. Image plots (``training_curves.png``) are embedded as they are.

Usage (in the repository root)::

    python -m hqseg.report.dvc_plots [--out dvc_plots/offline.html] [REV ...]

``REV``: revisions to overlay, as for ``dvc plots diff`` (none = the workspace).
"""

from __future__ import annotations

import base64
import html
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_OUT = "dvc_plots/offline.html"


def plot_data(revs: list[str] | None = None, cwd: str | Path = ".") -> dict[str, list[dict]]:
    """``{plot id: renderers}`` from ``dvc plots show|diff --json --split`` (images copied
    into a temporary folder and read from there)."""
    dvc = shutil.which("dvc") or "dvc"
    with tempfile.TemporaryDirectory(prefix="hqseg-plots-") as tmp:
        cmd = [dvc, "plots", "diff", *revs] if revs else [dvc, "plots", "show"]
        done = subprocess.run([*cmd, "--json", "--split", "-o", tmp], cwd=cwd,
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"error: {' '.join(cmd)} failed: {done.stderr.strip()}")
        plots = json.loads(done.stdout or "{}").get("data", {})
        for renderers in plots.values():
            for r in renderers:
                if r.get("type") == "image":
                    r["png"] = Path(r["url"]).read_bytes()
    return plots


def _field(spec: Any, axis: str) -> str | None:
    """The first ``field`` of the ``axis`` encoding anywhere in a Vega-Lite spec."""
    if isinstance(spec, dict):
        enc = spec.get("encoding", {}).get(axis)
        if isinstance(enc, dict) and isinstance(enc.get("field"), str):
            return enc["field"]
        children = list(spec.values())
    elif isinstance(spec, list):
        children = spec
    else:
        return None
    return next((f for c in children if (f := _field(c, axis))), None)


def draw(renderer: dict, title: str) -> bytes:
    """One Vega renderer of dvc's JSON as a PNG (scatter for point marks, else lines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    content, anchors = renderer["content"], renderer.get("anchor_definitions", {})
    rows = anchors.get("<DVC_METRIC_DATA>", [])
    x, y = _field(content, "x"), _field(content, "y")
    scatter = json.dumps(content.get("mark", "")).find("point") >= 0
    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=100)
    for rev in dict.fromkeys(r.get("rev", "") for r in rows):
        pts = sorted((float(r[x]), float(r[y])) for r in rows if r.get("rev", "") == rev)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        if scatter:
            ax.scatter(xs, ys, s=14, label=rev)
        else:
            ax.plot(xs, ys, marker="." if len(xs) < 30 else None, label=rev)
    ax.set_xlabel(anchors.get("<DVC_METRIC_X_LABEL>", x))
    ax.set_ylabel(anchors.get("<DVC_METRIC_Y_LABEL>", y))
    ax.set_title(title, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def render_html(plots: dict[str, list[dict]]) -> str:
    """The page: one ``<figure>`` per plot (and revision for images), PNGs inlined."""
    figures = []
    for plot_id, renderers in plots.items():
        for r in renderers:
            png = r["png"] if r.get("type") == "image" else draw(r, plot_id)
            label = plot_id + (f" ({', '.join(r['revisions'])})" if r.get("revisions") else "")
            figures.append(
                f'<figure><img alt="{html.escape(plot_id)}" src="data:image/png;base64,'
                f'{base64.b64encode(png).decode()}"><figcaption>{html.escape(label)}'
                "</figcaption></figure>"
            )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>DVC plots</title>'
        "<style>body{font-family:sans-serif}figure{display:inline-block;margin:8px}"
        "figcaption{font-size:12px}</style></head><body>\n"
        + "\n".join(figures)
        + "\n</body></html>\n"
    )


def main(argv: list[str]) -> int:
    from hqseg.utils.atomic import write_text

    out, revs = DEFAULT_OUT, []
    args = iter(argv)
    for arg in args:
        if arg == "--out":
            out = next(args, None) or sys.exit("error: --out needs a file name")
        else:
            revs.append(arg)
    plots = plot_data(revs)
    if not plots:
        sys.exit("error: dvc found no plots (run in the repository root, after dvc repro)")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_text(out, render_html(plots))
    print(f"wrote {out} ({sum(len(r) for r in plots.values())} plots, no network needed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The HTML of the review page: one table of suspects, sorted and filtered in the browser.

Markup contract (the browser test relies on it): the table is ``#suspects``, one
``<tr class="suspect">`` per suspect with ``data-id``, ``data-source`` and
``data-i`` (its index into the ``#values`` JSON: number column -> value, null when
blank); sort buttons are ``button.sort[data-key]``; filters are ``#source``,
``#signal`` + ``#signal-min`` and ``#search``; ``#shown`` holds the visible count.
"""

from __future__ import annotations

import json
import math
from html import escape

from hqseg.curation.review import MASK_RGB, MODEL_RGB, Suspect

# Sort direction of a column's first click: the suspicious end first.
ASCENDING_FIRST = ("rank", "iou_model", "biou_model")

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.2em;color:#222}
h1{font-size:1.3em;margin:0 0 .3em}
.controls{display:flex;gap:1em;flex-wrap:wrap;align-items:end;margin:.8em 0;
  position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd}
.controls label{display:flex;flex-direction:column;font-size:12px;color:#555}
table{border-collapse:collapse}
th,td{border-bottom:1px solid #eee;padding:4px 6px;vertical-align:top;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
th button{font:inherit;font-weight:600;border:0;background:none;cursor:pointer;padding:0}
th[aria-sort=ascending] button::after{content:" \\25B2"}
th[aria-sort=descending] button::after{content:" \\25BC"}
img{display:block;max-width:160px;max-height:160px}
.id{font-family:ui-monospace,monospace;word-break:break-all;max-width:16em}
.muted{color:#777;font-size:12px}
.sw{display:inline-block;width:.9em;height:.9em;vertical-align:middle;border-radius:2px}
"""

SCRIPT = """
(() => {
  const values = JSON.parse(document.getElementById('values').textContent);
  const body = document.querySelector('#suspects tbody');
  const rows = Array.from(body.rows);
  const val = (r, k) => values[r.dataset.i][k];
  const $ = id => document.getElementById(id);
  function apply() {
    const src = $('source').value, sig = $('signal').value, q = $('search').value.toLowerCase();
    const min = parseFloat($('signal-min').value);
    let n = 0;
    for (const r of rows) {
      const v = sig ? val(r, sig) : null;
      const ok = (!src || r.dataset.source === src)
        && (!sig || (v !== null && (isNaN(min) || v >= min)))
        && (!q || r.textContent.toLowerCase().includes(q));
      r.hidden = !ok;
      n += ok;
    }
    $('shown').textContent = n;
  }
  function sortBy(key, dir) {
    rows.sort((a, b) => {
      const x = val(a, key), y = val(b, key);
      if (x === null || y === null) return (x === null) - (y === null) || a.dataset.i - b.dataset.i;
      return dir * (x - y) || a.dataset.i - b.dataset.i;
    });
    for (const r of rows) body.appendChild(r);
    for (const th of document.querySelectorAll('#suspects th[data-key]')) {
      th.setAttribute('aria-sort', th.dataset.key === key
        ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }
  for (const b of document.querySelectorAll('button.sort')) {
    b.addEventListener('click', () => {
      const th = b.parentElement, now = th.getAttribute('aria-sort');
      const first = th.dataset.first === 'asc' ? 1 : -1;
      sortBy(b.dataset.key, now === 'none' || !now ? first
        : (now === 'ascending' ? -1 : 1));
    });
  }
  for (const id of ['source', 'signal', 'signal-min', 'search']) {
    $(id).addEventListener('input', apply);
  }
  apply();
})();
"""


def _num(v: float) -> str:
    return "" if math.isnan(v) else f"{v:.3g}"


def _th(key: str, label: str, sorted_by: str) -> str:
    first = "asc" if key in ASCENDING_FIRST else "desc"
    sort = ("descending" if first == "desc" else "ascending") if key == sorted_by else "none"
    return (f'<th data-key="{escape(key)}" data-first="{first}" aria-sort="{sort}">'
            f'<button type="button" class="sort" data-key="{escape(key)}">{escape(label)}'
            "</button></th>")  # fmt: skip


def _row(i: int, s: Suspect, numbers: list[str], model: bool) -> str:
    img = lambda kind, alt: (f'<img src="{s.thumbs[kind]}" alt="{escape(alt)}">'  # noqa: E731
                             if kind in s.thumbs else '<span class="muted">none</span>')
    cells = [
        f'<td class="num">{s.rank}</td>',
        f"<td>{img('image', 'image')}</td>",
        f"<td>{img('mask', 'mask over the image')}</td>",
        *([f"<td>{img('model', 'model mask')}</td>"] if model else []),
        f'<td><div class="id">{escape(s.id)}</div>'
        f'<div class="muted">{escape(s.source)} · {escape(s.split)}</div></td>',
        *(f'<td class="num">{_num(s.values[c])}</td>' for c in numbers),
        f"<td>{escape(s.reasons)}</td>",
    ]
    return (f'<tr class="suspect" data-i="{i}" data-id="{escape(s.id)}" '
            f'data-source="{escape(s.source)}">' + "".join(cells) + "</tr>")  # fmt: skip


def _options(values: list[str], everything: str) -> str:
    return f'<option value="">{everything}</option>' + "".join(
        f'<option value="{escape(v)}">{escape(v.removeprefix("sig_"))}</option>' for v in values
    )


def render_page(
    shown: list[Suspect], numbers: list[str], *, total: int, absent: list[str], source_file: str
) -> str:
    """The whole page for the suspects ``shown`` (in score order) and the audit's ``numbers``."""
    model = any("model" in s.thumbs for s in shown)
    signals = [c for c in numbers if c.startswith("sig_")]
    sources = sorted({s.source for s in shown})
    values = [{"rank": s.rank} | {c: None if math.isnan(s.values[c]) else s.values[c]
                                  for c in numbers} for s in shown]  # fmt: skip
    data = json.dumps(values, allow_nan=False).replace("</", "<\\/")
    sw = lambda rgb: f'<span class="sw" style="background:rgb{tuple(rgb)}"></span>'  # noqa: E731
    head = (
        _th("rank", "rank", "") + "<th>image</th><th>mask</th>"
        + ("<th>model</th>" if model else "") + "<th>record</th>"
        + "".join(_th(c, c.removeprefix("sig_"), "score") for c in numbers) + "<th>reasons</th>"
    )
    missing = (
        f'<p class="muted">{len(absent)} suspect(s) of the audit are not in this build '
        f"(excluded or rebuilt since), not drawn: {escape(', '.join(absent))}</p>"
        if absent else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>hqseg audit: review the top suspects</title><style>{CSS}</style></head>
<body>
<h1>Label-quality review: the top {len(shown)} suspects</h1>
<p class="muted">From <code>{escape(source_file)}</code> ({total:,} records scored; higher score =
more likely a wrong mask). {sw(MASK_RGB)} the record's mask{
    f" (its outline over the model's mask), {sw(MODEL_RGB)} the model's mask" if model else ""}.
To leave records out of the next build, put their ids (and a reason) in the exclude list:
<code>hqseg build --exclude FILE</code> (columns <code>id,reason</code>).</p>
{missing}
<div class="controls">
<label>source<select id="source">{_options(sources, "all")}</select></label>
<label>signal<select id="signal">{_options(signals, "any")}</select></label>
<label>signal at least<input id="signal-min" type="number" step="any" value="0"></label>
<label>text<input id="search" type="search" placeholder="id or reason"></label>
<span><b id="shown">{len(shown)}</b> of {len(shown)} shown</span>
</div>
<table id="suspects"><thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(_row(i, s, numbers, model) for i, s in enumerate(shown))}
</tbody></table>
<script type="application/json" id="values">{data}</script>
<script>{SCRIPT}</script>
</body></html>
"""

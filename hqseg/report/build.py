"""``hqseg report``: the Markdown/HTML report of an evaluation results folder.

Sections: HQ benchmarks (SAM vs HQ-SAM), paired per-image differences with
bootstrap 95% CIs and win/loss/tie counts, COCO AP / AP_B, comparison with a
previous run (``--base``: a folder or a git revision), the paper's numbers, plots,
an overlay gallery, a link to the audit's review page (``RESULTS/audit/index.html``) when
there is one, and each results folder's provenance (with a banner at the top when
the data is the embedded sample). Output folder (replaced atomically)::

    report.md  report.html  paired_iou.csv  plots/*.png  gallery/*.png
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from hqseg.evaluation.hq import BENCHMARKS
from hqseg.provenance import is_sample_data
from hqseg.report import markdown as md
from hqseg.report.checkpoints import checkpoints_section
from hqseg.report.gallery import build_gallery
from hqseg.report.paper import load_paper, paper_rows
from hqseg.report.plots import benchmark_bars, iou_scatter
from hqseg.report.provenance import SAMPLE_BANNER, provenance_section, uses_sample
from hqseg.report.results import Results, load_base, load_results
from hqseg.report.stats import pair_tables, paired_summary
from hqseg.utils.outdir import output_dir

NAMES = {**BENCHMARKS, "mean": "mean (HQ-4 when all four)", "all": "all images"}
COCO_STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl")
REVIEW_PAGE = "audit/index.html"  # under the results folder: the review page of `hqseg audit`


def _hq_section(res: Results) -> list[str]:
    out = [
        "## HQ benchmarks",
        "",
        f"Protocol `{res.hq_protocol or 'square'}`. GT-box prompts; HQ-SAM = HQ-token output, "
        "SAM = its own decoder (no HQ token) on the same encoding; logits upsampled to the "
        "GT size, > 0; GT > 128. Means over images, in percent.",
        "",
    ]
    rows = []
    for bench, models in res.hq.items():
        s, h = models.get("sam", {}), models.get("hq_sam", {})
        n = h.get("n", s.get("n"))
        rows.append(
            [
                NAMES.get(bench, bench),
                str(n),
                s.get("mIoU"),
                s.get("mBIoU"),
                h.get("mIoU"),
                h.get("mBIoU"),
                _delta(h.get("mIoU"), s.get("mIoU")),
                _delta(h.get("mBIoU"), s.get("mBIoU")),
            ]
        )
    out += [
        md.table(
            [
                "benchmark",
                "images",
                "SAM mIoU (%)",
                "SAM mBIoU (%)",
                "HQ-SAM mIoU (%)",
                "HQ-SAM mBIoU (%)",
                "Δ mIoU (points)",
                "Δ mBIoU (points)",
            ],
            rows,
        ),
        "",
    ]
    if res.skipped is not None and len(res.skipped):
        out += [f"**{len(res.skipped)} image(s) not scored:**", ""]
        out += [f"- `{r.id}` ({r.benchmark}): {r.reason}" for r in res.skipped.itertuples()]
        out.append("")
    return out


def _delta(a, b) -> str:
    return md.fmt(a - b, signed=True) if a is not None and b is not None else "–"


def _coco_section(coco: dict[str, Any], base: Results | None) -> list[str]:
    setup = coco.get("setup", {})
    out = [
        "## COCO with box prompts",
        "",
        f"Prompts: {setup.get('prompts', '?')}, {setup.get('images', '?')} images, "
        f"top {setup.get('top_k', '?')} boxes per image. SAM = its own decoder; HQ-SAM = "
        "SAM + HQ logits. AP values in percent.",
        "",
    ]
    rows = []
    for label, src in [("", coco), (" (base)", base.coco if base else {})]:
        for model in ("sam", "hq_sam"):
            if model not in src:
                continue
            m = src[model]
            rows.append(
                [f"{'SAM' if model == 'sam' else 'HQ-SAM'}{label}"]
                + [m["segm"].get(k) for k in COCO_STATS]
                + [m["boundary"].get(k) for k in ("AP", "AP50", "AP75")]
            )
    headers = [f"{h} (%)" for h in (*COCO_STATS, "AP_B", "AP_B50", "AP_B75")]
    out += [md.table(["model", *headers], rows), ""]
    return out


def _paired(a: pd.DataFrame | None, b: pd.DataFrame | None, seed: int):
    if a is None or b is None:
        return None, None
    paired = pair_tables(a, b)
    return paired, paired_summary(paired, seed=seed) if len(paired) else None


def _base_section(res: Results, base: Results, seed: int) -> list[str]:
    out = [f"## Compared with the base run `{base.label}`", ""]
    for model, label in (("hq_sam", "HQ-SAM"), ("sam", "SAM")):
        paired, summary = _paired(base.model_table(model), res.model_table(model), seed)
        if summary is None:
            continue
        out += [
            f"### {label}: this run − base, paired on {len(paired)} images",
            "",
            md.paired_table(summary, NAMES, "base", "this run"),
            "",
        ]
    if len(out) == 2:
        out += ["No per-image HQ results in common with the base run.", ""]
    return out


def _paper_section(paper: dict[str, Any], res: Results, sample: bool) -> list[str]:
    rows = [
        [
            r["source"],
            r["name"],
            r["mIoU"],
            r["mBIoU"],
            r["AP"],
            r["AP_B"],
        ]
        for r in paper_rows(paper, res.hq, res.coco)
    ]
    return [
        "## Compared with the paper",
        "",
        "> The paper's numbers are for official checkpoints on the full benchmarks and COCO "
        "val2017 with FocalNet-DINO boxes. "
        + (
            "These results come from the embedded sample (see the banner at the top): "
            "**NOT comparable**."
            if sample
            else "Numbers from the embedded sample (generated images, tiny random-weight "
            "model) are **NOT comparable**; they only show that the pipeline runs."
        ),
        "",
        md.table(
            [
                "source",
                "model",
                "HQ-4 mIoU (%)",
                "HQ-4 mBIoU (%)",
                "COCO AP (%)",
                "COCO AP_B (%)",
            ],
            rows,
        ),
        "",
    ]


def write_report(
    results_dir: str | Path,
    out_dir: str | Path,
    *,
    base: str | None = None,
    paper: str | Path | None = None,
    data_dir: str | Path | None = None,
    gallery_k: int = 3,
    seed: int = 0,
) -> Path:
    """Write the report for ``results_dir`` into ``out_dir``; return the ``report.md`` path.

    Args:
        base: a results folder or git revision to compare with (paired per image).
        paper: reference JSON (``eval/paper_reference.json``); None = no paper section.
        data_dir: build folder holding the HQ images, for the gallery; None = no gallery.
        gallery_k: number of biggest wins and of biggest losses drawn.
        seed: bootstrap seed.
    """
    res = load_results(results_dir)
    base_res = load_base(base, results_dir) if base else None
    paper_data = load_paper(paper) if paper else None
    out_dir = Path(out_dir)
    sample = uses_sample([res, base_res]) or bool(is_sample_data(data_dir))
    lines = [
        "# hqseg evaluation report",
        "",
        *([SAMPLE_BANNER, ""] if sample else []),
        f"Results: `{res.label}`" + (f"; base: `{base_res.label}`" if base_res else ""),
        "",
    ]
    paired, summary = _paired(res.model_table("sam"), res.model_table("hq_sam"), seed)
    with output_dir(out_dir, "report") as tmp:
        if res.hq:
            lines += _hq_section(res)
        if res.checkpoints:
            lines += checkpoints_section(res.checkpoints, NAMES)
        lines += _paired_section(paired, summary, tmp)
        if res.coco:
            lines += _coco_section(res.coco, base_res)
        if base_res is not None:
            lines += _base_section(res, base_res, seed)
        if paper_data is not None:
            lines += _paper_section(paper_data, res, sample)
        lines += _plots(res, paired, tmp)
        masks = (_model_masks(res, "sam"), _model_masks(res, "hq_sam"))
        lines += _gallery(paired, masks, data_dir, tmp, gallery_k, specs=_specs(res))
        if base_res is not None and _model_masks(base_res, "hq_sam"):
            base_paired, _ = _paired(
                base_res.model_table("hq_sam"), res.model_table("hq_sam"), seed
            )
            lines += _gallery(
                base_paired,
                (_model_masks(base_res, "hq_sam"), masks[1]),
                data_dir,
                tmp,
                gallery_k,
                labels=("HQ-SAM (base)", "HQ-SAM (this run)"),
                prefix="base_",
                specs=_specs(res),
            )
        lines += _review_section(Path(results_dir), out_dir)
        lines += provenance_section([("this run", res), ("base", base_res)])
        text = "\n".join(lines).rstrip() + "\n"
        (tmp / "report.md").write_text(text, encoding="utf-8")
        (tmp / "report.html").write_text(
            md.to_html(text, "hqseg evaluation report", images_from=tmp), encoding="utf-8"
        )
    return out_dir / "report.md"


def _paired_section(paired, summary, tmp: Path) -> list[str]:
    """HQ-SAM vs SAM per image (and ``paired_iou.csv``), when both have rows."""
    if summary is None:
        return []
    wide = {
        f"{m}_{s}": f"{m}_{model}"
        for m in ("iou_pct", "biou_pct")
        for s, model in (("a", "sam"), ("b", "hq_sam"))
    }
    paired.rename(columns=wide).to_csv(tmp / "paired_iou.csv", index=False, lineterminator="\n")
    return [
        "## HQ-SAM vs SAM, per image",
        "",
        "Paired differences over the same images; 95% CI from 2000 seeded "
        "bootstrap resamples of the images.",
        "",
        md.paired_table(summary, NAMES, "SAM", "HQ-SAM"),
        "",
    ]


def _review_section(results_dir: Path, out_dir: Path) -> list[str]:
    """A link to ``RESULTS/audit/index.html`` (``hqseg audit`` + ``hqseg review``), if present."""
    import os

    page = results_dir / REVIEW_PAGE
    if not page.is_file():
        return []
    link = Path(os.path.relpath(page.resolve(), out_dir.resolve())).as_posix()
    return [
        "## Label-quality review",
        "",
        f"The audit's top suspects (likely wrong masks), to review and exclude: [{REVIEW_PAGE}]"
        f"({link}) (self-contained page; reviewed ids go to `hqseg build --exclude`).",
        "",
    ]


def _plots(res: Results, paired, tmp: Path) -> list[str]:
    out = []
    bars = (
        benchmark_bars(
            {k: v for k, v in res.hq.items() if k != "mean"},
            tmp / "plots" / "benchmarks.png",
            NAMES,
        )
        if res.hq
        else None
    )
    scatter = iou_scatter(paired, tmp / "plots" / "iou_scatter.png", NAMES)
    scatter_b = iou_scatter(paired, tmp / "plots" / "biou_scatter.png", NAMES, metric="biou_pct")
    for title, p in (
        ("Per-benchmark means", bars),
        ("Per-image IoU", scatter),
        ("Per-image boundary IoU", scatter_b),
    ):
        if p is not None:
            out += [f"![{title}](plots/{p.name})", ""]
    return ["## Plots", "", *out] if out else []


def _gallery(
    paired,
    masks: tuple[dict | None, dict | None],
    data_dir,
    tmp: Path,
    k: int,
    *,
    labels: tuple[str, str] = ("SAM", "HQ-SAM"),
    prefix: str = "",
    specs: list[str] | None = None,
) -> list[str]:
    """Gallery section of ``labels[1]``'s biggest wins and losses over ``labels[0]``."""
    out = [f"## Gallery: biggest {labels[1]} wins and losses over {labels[0]}", ""]
    if paired is None or paired.empty:
        return [*out, f"No gallery: no per-image rows shared by {labels[0]} and {labels[1]}.", ""]
    cases, reason = build_gallery(
        paired,
        masks[0],
        masks[1],
        Path(data_dir) if data_dir else None,
        tmp / "gallery",
        labels=labels,
        prefix=prefix,
        k=k,
        specs=specs,
    )
    if reason:
        return [*out, f"No gallery: {reason}.", ""]
    out += [
        f"GT outline in green; {labels[0]} tinted orange, {labels[1]} red. Bottom row: the "
        f"region where {labels[1]}'s boundary band disagrees most with the GT's.",
        "",
    ]
    for c in cases:
        out += [
            f"**{c['kind']}** `{c['id']}` ({NAMES.get(c['benchmark'], c['benchmark'])}), "
            f"IoU Δ {c['iou_pct_diff']:+.2f} points",
            "",
            f"![{c['id']}](gallery/{c['path']})",
            "",
        ]
    return out


def _specs(res: Results) -> list[str] | None:
    """The ``eval hq --benchmark`` specs ``res`` was scored on (its provenance), if any."""
    prov = (res.provenance or {}).get("hq") or {}
    return (prov.get("data") or {}).get("specs")


def _model_masks(res: Results | None, model: str) -> dict | None:
    return (res.masks or {}).get(model) if res is not None else None

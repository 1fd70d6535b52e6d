"""The dataset card (``README.md``) of a build folder.

The YAML front matter is what ``datasets`` and the Hub read (Hugging Face
dataset-card conventions): ``license: other`` with ``license_name`` and
``license_link`` (``LICENSE.md`` in the folder lists each source's terms),
``task_categories``, ``size_categories``, ``pretty_name``, ``configs`` (data files
per config and split), ``dataset_info`` (features and split sizes per config;
``datasets`` checks the sizes when loading) and ``sample: true`` when the build
was made from the embedded generated sample (then a banner says so too). The
body is for people: composition, per-source counts, rejects by reason,
duplicates and leaks, each source's terms and citation, and the HQ-SAM BibTeX.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

#: Used when a source adapter has no licence/citation text (keeps the card complete).
FALLBACK_TERMS = "see the source's project page; no licence text recorded by hqseg"

LICENSE_NAME = "hqseg44k-source-terms"
LICENSE_FILE = "LICENSE.md"

HQ_SAM_BIBTEX = """@inproceedings{ke2023segment,
  title     = {Segment Anything in High Quality},
  author    = {Ke, Lei and Ye, Mingqiao and Danelljan, Martin and Liu, Yifan and
               Tai, Yu-Wing and Tang, Chi-Keung and Yu, Fisher},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  year      = {2023}
}"""

SAMPLE_BANNER = (
    "> **Built from the embedded sample.** This folder was built from the small "
    "archives that `hqseg sample` generates (synthetic images in the sources' "
    "layouts, for offline tests). It is **not** HQSeg-44K and must not be published "
    "as such; `hqseg publish` refuses it unless `--allow-sample`."
)

DUTS_TE_NOTE = (
    "DUTS-TE is part of the official training composition (as in the HQ-SAM authors' "
    "code and repack), so a saliency evaluation on DUTS-TE with a model trained on this "
    "data is contaminated."
)


@dataclass
class ConfigFiles:
    """One config: split name -> data files (paths relative to the folder) and sizes."""

    name: str
    splits: dict[str, list[str]] = field(default_factory=dict)
    examples: dict[str, int] = field(default_factory=dict)
    nbytes: dict[str, int] = field(default_factory=dict)


@dataclass
class SourceInfo:
    """What the card says about one source."""

    name: str
    title: str = ""
    homepage: str = ""
    licence: str = ""
    citation: str = ""


def public_source_info(name: str) -> SourceInfo:
    """The card's terms line for a public source, from its adapter (name alone if none)."""
    from hqseg.data.sources import get_source

    try:
        adapter = get_source(name)
    except Exception:  # card text falls back; the build itself already used the adapter
        return SourceInfo(name)
    entry = getattr(adapter, "entry", None)
    return SourceInfo(
        name,
        title=getattr(entry, "title", "") or "",
        homepage=getattr(adapter, "homepage", "") or "",
        licence=getattr(adapter, "licence", "") or "",
        citation=getattr(adapter, "citation", "") or "",
    )


class _NoAliasDumper(yaml.SafeDumper):
    """Writes repeated lists in full (no ``&id001`` anchors): plainer for readers and the Hub."""

    def ignore_aliases(self, data) -> bool:
        return True


def _feature_yaml() -> list[dict]:
    from hqseg.data.shards import RECORD_FIELDS  # features() without importing datasets

    return [{"name": n, "dtype": "image" if t == "Image" else t} for n, t in RECORD_FIELDS]


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` bucket for ``n`` examples."""
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return name
    return "100K<n<1M" if n < 1_000_000 else "n>1M"


def front_matter(configs: list[ConfigFiles], *, pretty_name: str, sample: bool = False) -> dict:
    """The YAML front matter as a dict (licence, categories, ``configs``, ``dataset_info``)."""
    feats = _feature_yaml()
    records = sum(
        n for c in configs if c.name not in ("default", "hq_eval") for n in c.examples.values()
    )
    return {
        "pretty_name": pretty_name,
        "license": "other",
        "license_name": LICENSE_NAME,
        "license_link": LICENSE_FILE,
        "task_categories": ["image-segmentation"],
        "size_categories": [size_category(records)],
        "tags": ["segmentation", "high-quality-masks", "hq-sam"],
        **({"sample": True} if sample else {}),
        "configs": [
            {
                "config_name": c.name,
                **({"default": True} if c.name == "default" else {}),
                "data_files": [{"split": s, "path": files} for s, files in c.splits.items()],
            }
            for c in configs
        ],
        "dataset_info": [
            {
                "config_name": c.name,
                "features": feats,
                "splits": [
                    {"name": s, "num_bytes": c.nbytes.get(s, 0), "num_examples": c.examples[s]}
                    for s in c.splits
                ],
            }
            for c in configs
        ],
    }


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_card(
    *,
    preset_name: str,
    preset_description: str,
    configs: list[ConfigFiles],
    sources: list[SourceInfo],
    counts: dict[str, dict[str, int]],
    train_splits: list[tuple[str, str]],
    rejects_by_source: dict[str, dict[str, int]],
    warnings: list[str] | tuple[str, ...] = (),
    duplicates: dict[str, int],
    dedup_mode: str,
    near_threshold: int,
    missing: list[str],
    sample: bool = False,
    extra: list[str] | tuple[str, ...] = (),
) -> str:
    """The full README.md text.

    Args:
        sample: the build was made from the embedded sample (banner + ``sample: true``).
        counts: source -> split -> records written.
        rejects_by_source: source -> reason -> count.
        duplicates: ``exact``, ``near``, ``leaks``, ``dropped``, ``groups`` counts.
        extra: more sections (markdown), placed before the sources' terms.
    """
    title = _title(preset_name, sources)
    name = title + (", embedded sample" if sample else "")
    meta = front_matter(configs, pretty_name=name, sample=sample)
    total_train = sum(counts.get(s, {}).get(sp, 0) for s, sp in train_splits)
    parts = [
        "---\n"
        + yaml.dump(meta, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True)
        + "---",
        f"# HQSeg-44K — preset `{preset_name}`" if preset_name != "none" else f"# {title}",
        *([SAMPLE_BANNER] if sample else []),
        f"Built by `hqseg build --preset {preset_name}`: {preset_description}. "
        f"The `default` config's `train` split has **{total_train:,}** image/mask pairs.",
        RECORDS_NOTE,
        _usage(configs),
        _counts_sections(configs, counts, train_splits),
        _rejects_section(rejects_by_source, warnings),
        _duplicates_section(duplicates, dedup_mode, near_threshold),
        *extra,
        "## Sources, terms and citations\nEach source keeps its own terms (also in "
        f"`{LICENSE_FILE}`); check them before any use.\n\n" + _source_lines(sources),
        "## Citation\nIf you use this data, cite HQ-SAM, which composed HQSeg-44K, and "
        "each source above.\n\n```bibtex\n" + HQ_SAM_BIBTEX + "\n```",
    ]
    if any(s.name == "duts" for s in sources) and ("duts", "test") in train_splits:
        parts.append("## Caveat\n" + DUTS_TE_NOTE)
    if missing:
        parts.append(
            "## Missing sources\nThis build was made without: "
            + ", ".join(f"`{m}`" for m in missing)
            + " (built with `--allow-missing`), so it is not the full composition."
        )
    return "\n\n".join(parts) + "\n"


RECORDS_NOTE = (
    "Records: `id` (`<source>/<stem>`), `source`, `split`, `image` (original file "
    "bytes; re-encoded as PNG only when it had to be converted to RGB or rotated), "
    "`mask` (8-bit single-channel PNG with the original grey levels; threshold at "
    "\\>128 for evaluation, /255 as a soft target for training), `width`, `height`, "
    "`category` (FSS-1000 class), `sha256` (of the image bytes)."
)


def _counts_sections(
    configs: list[ConfigFiles],
    counts: dict[str, dict[str, int]],
    train_splits: list[tuple[str, str]],
) -> str:
    """The ``Configs`` and ``Per-source counts`` sections."""
    return (
        "## Configs\n"
        + _table(
            ["config", "split", "examples"],
            [[c.name, s, f"{c.examples[s]:,}"] for c in configs for s in c.splits],
        )
        + "\n\n## Per-source counts\n"
        + _table(
            ["source", "split", "records", "in default/train"],
            [
                [src, sp, f"{n:,}", "yes" if (src, sp) in train_splits else "no"]
                for src, splits in counts.items()
                for sp, n in splits.items()
            ],
        )
    )


def _rejects_section(
    rejects_by_source: dict[str, dict[str, int]], warnings: list[str] | tuple[str, ...]
) -> str:
    """The ``Rejects`` section, with the resized masks' warnings (the first 20)."""
    text = "## Rejects\nEvery input file that did not become a record is listed in " + (
        "`rejects.csv` (path, reason, detail, source).\n\n"
        + _table(
            ["source", "reason", "files"],
            [[s, r, n] for s, reasons in rejects_by_source.items() for r, n in reasons.items()]
            or [["—", "none", 0]],
        )
    )
    if warnings:
        text += (
            f"\n\n{len(warnings)} mask(s) had a different size from their image and were "
            "resized to it (nearest neighbour; `size_mismatch=resize`): "
            + "; ".join(f"`{w}`" for w in warnings[:20])
            + (" …" if len(warnings) > 20 else "")
        )
    return text


def _duplicates_section(duplicates: dict[str, int], dedup_mode: str, near_threshold: int) -> str:
    """The ``Duplicates and leakage`` section: the rule, the mode and the counts."""
    if dedup_mode == "drop":
        mode = (
            "in each group one record is kept (evaluation records first, then preset "
            "source order, then id) and the other training records are dropped; "
            "evaluation records are never dropped."
        )
    else:
        mode = "all records are kept, only reported."
    return (
        "## Duplicates and leakage\n"
        f"Exact duplicates share decoded pixels; near duplicates have perceptual hashes "
        f"(64-bit pHash) within Hamming distance {near_threshold}. Leaks are training "
        "records duplicating a `hq_eval` record (DIS-VD, COIFT, HRSOD, ThinObject-5K test) "
        "or an evaluation split of an added source. "
        f"Mode `{dedup_mode}`: {mode} Details in `duplicates.csv`.\n\n"
        + _table(["what", "records"], [[k, v] for k, v in duplicates.items()])
    )


def _title(preset_name: str, sources: list[SourceInfo]) -> str:
    """``HQSeg-44K (preset)``; a build of your own sources alone is named after them."""
    if preset_name == "none":
        return f"{', '.join(s.name for s in sources)} (hqseg build of your own data)"
    return f"HQSeg-44K ({preset_name})"


def _usage(configs: list[ConfigFiles]) -> str:
    """A snippet that loads this build's training split and one of its evaluation splits."""
    lines = ["import datasets"]
    names = [c.name for c in configs]
    if "default" in names:
        lines.append('train = datasets.load_dataset("PATH", "default", split="train")')
    evals = [(c.name, s) for c in configs if c.name == "hq_eval" for s in c.splits]
    train = set(next((c.splits["train"] for c in configs if c.name == "default"), []))
    evals += [
        (c.name, s)
        for c in configs
        if c.name not in ("default", "hq_eval")
        for s, files in c.splits.items()
        if not set(files) <= train
    ]
    if evals:
        config, split = evals[0]
        var = split if split.isidentifier() else "evaluation"
        lines.append(f'{var} = datasets.load_dataset("PATH", "{config}", split="{split}")')
    return "```python\n" + "\n".join(lines) + "\n```"


def _source_lines(sources: list[SourceInfo]) -> str:
    return "\n".join(
        f"- **{s.title or s.name}** (`{s.name}`) — terms: {s.licence or FALLBACK_TERMS}. "
        f"Cite: {s.citation or 'see ' + (s.homepage or 'the project page')}."
        + (f" <{s.homepage}>" if s.homepage else "")
        for s in sources
    )


def render_license(sources: list[SourceInfo], *, sample: bool = False) -> str:
    """``LICENSE.md``: the terms of each source (the card's ``license_link``)."""
    head = (
        f"# {LICENSE_NAME}\n\nThis dataset has no single licence: each record keeps the "
        "terms of the source it comes from (the record's `source` field). Check them "
        "before any use; several allow research use only.\n"
    )
    if sample:
        head += (
            "\nThis folder was built from the embedded generated sample (synthetic "
            "images), which hqseg writes itself; the terms below are those of the real "
            "sources it imitates.\n"
        )
    return head + "\n" + _source_lines(sources) + "\n"


def parse_front_matter(text: str) -> dict:
    """The YAML front matter of a card (for tests and `hqseg publish`)."""
    if not text.startswith("---\n"):
        raise ValueError("card has no YAML front matter")
    end = text.index("\n---", 4)
    return yaml.safe_load(text[4:end])

"""``hqseg normalize``, ``hqseg build`` and ``hqseg publish``: the HQSeg-44K artifact."""

from __future__ import annotations

import json

import click

_SIZE_HELP = (
    "What to do when an image and its mask differ in size: 'reject' lists the pair in "
    "rejects.csv; 'resize' resizes the mask to the image (nearest neighbour, grey levels "
    "kept) and logs a warning."
)
_WORKERS_HELP = "Decoding processes (default: all cores; 1 runs in this process)."


@click.command("normalize")
@click.argument("source")
@click.option(
    "--raw-dir",
    default="data/raw",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder holding <SOURCE>/ as written by `hqseg download`.",
)
@click.option(
    "--out",
    default="data/normalized",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Output root; writes OUT/<SOURCE>/ atomically "
    "(shards, hashes.parquet, rejects.csv, summary.json).",
)
@click.option(
    "--size-mismatch",
    type=click.Choice(["reject", "resize"]),
    default="reject",
    show_default=True,
    help=_SIZE_HELP,
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help=_WORKERS_HELP)
@click.option(
    "--name",
    default=None,
    help="Source name for a custom SOURCE spec (overrides its ?name= and the derived name).",
)
def normalize_cmd(source, raw_dir, out, size_mismatch, workers, name):
    """Validate and normalise one raw SOURCE into record shards.

    SOURCE is a public source name (read from --raw-dir) or a custom spec
    (folder:PATH, coco:ANNOTATIONS.json[:IMAGES_DIR], hf:NAME_OR_PATH[:CONFIG][:SPLIT]),
    written to OUT/<name>/.

    Every input file that does not become a record is listed in
    OUT/SOURCE/rejects.csv with its reason (undecodable, truncated, empty mask,
    size mismatch, missing partner, extraction problems).
    """
    from hqseg.data.normalize import normalize_source

    if ":" in source:
        from hqseg.data.custom import normalize_custom, parse_spec
        from hqseg.data.custom.compose import with_options

        spec = with_options(parse_spec(source), name=name or "")
        summary = normalize_custom(spec, out, size_mismatch=size_mismatch, workers=workers)
        source = spec.name
    else:
        summary = normalize_source(
            source, raw_dir, out, size_mismatch=size_mismatch, workers=workers
        )
    click.echo(
        f"{source}: {summary['records']} records {summary['splits']}, "
        f"{summary['rejects']} rejects {summary['rejects_by_reason']}"
    )


@click.command("build")
@click.option(
    "--preset",
    type=click.Choice(["official", "paper", "none"]),
    default="official",
    show_default=True,
    help="'official': the released HQSeg-44K with DUTS-TR+TE (44,320 pairs on the real data); "
    "'paper': as the paper states it, with DUT-OMRON instead of DUTS; "
    "'none': only the sources given with --add.",
)
@click.option(
    "--add",
    "add",
    multiple=True,
    metavar="SPEC",
    help="Add your own data (repeatable): folder:PATH, coco:ANNOTATIONS.json[:IMAGES_DIR] or "
    "hf:NAME_OR_PATH[:CONFIG][:SPLIT], options after '?' (e.g. "
    "folder:/data/mine?name=mine&mask_type=instances). Its 'train' split joins default/train; "
    "other splits are evaluation data, checked for leaks.",
)
@click.option(
    "--licence",
    "--license",
    "licences",
    multiple=True,
    metavar="TEXT",
    help="Licence of the added data, shown on the card: once for all --add, or once per "
    "--add in the same order (a spec's ?licence= wins).",
)
@click.option(
    "--custom-from",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Also add the sources listed under `custom:` in this YAML file (e.g. params.yaml; "
    "entries: a spec, or spec + name + licence + path).",
)
@click.option(
    "--custom-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where added sources are normalised (reused while unchanged) "
    "[default: 'custom' next to --normalized].",
)
@click.option(
    "--normalized",
    "normalized_dir",
    default="data/normalized",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Normalised sources (from `hqseg normalize`); missing ones are normalised first.",
)
@click.option(
    "--raw-dir",
    default="data/raw",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Raw sources, used for sources not yet normalised.",
)
@click.option(
    "--out",
    default="data/hqseg44k",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Output folder (Hub dataset repo layout), replaced atomically.",
)
@click.option(
    "--dedup",
    type=click.Choice(["drop", "keep"]),
    default="drop",
    show_default=True,
    help="'drop': keep one record per duplicate group and drop training records that "
    "duplicate evaluation records (leaks); 'keep': only report them in duplicates.csv.",
)
@click.option(
    "--near-threshold",
    type=click.IntRange(0, 16),
    default=6,
    show_default=True,
    help="Near duplicate = perceptual hashes (64-bit pHash) within this Hamming distance.",
)
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Build without sources that are absent (warning; the card lists them) "
    "instead of stopping with an error.",
)
@click.option(
    "--size-mismatch",
    type=click.Choice(["reject", "resize"]),
    default=None,
    help="For sources this build normalises (default: reject); a value different from "
    "an already normalised source's re-normalises it. " + _SIZE_HELP,
)
@click.option(
    "--stats-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write stats.json here, e.g. for `dvc metrics` outside the output folder.",
)
@click.option(
    "--exclude",
    type=click.Path(dir_okay=False),
    default=None,
    help="CSV of record ids to leave out, with why (columns id and reason; the reviewed "
    "top of `hqseg audit`'s audit.csv works as it is). Unknown ids are an error; the card, "
    "stats.json's conservation and OUT/excluded.csv list what was excluded.",
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help=_WORKERS_HELP)
def build_cmd(
    preset,
    normalized_dir,
    raw_dir,
    out,
    dedup,
    near_threshold,
    allow_missing,
    size_mismatch,
    stats_out,
    workers,
    add,
    licences,
    custom_from,
    custom_dir,
    exclude,
):
    """Compose HQSeg-44K into a folder that `datasets.load_dataset(OUT)` loads.

    \b
    OUT/README.md         card: configs (default, one per source, hq_eval), counts, terms
    OUT/data/<source>/    parquet shards
    OUT/rejects.csv       every input file that did not become a record, with its reason
    OUT/duplicates.csv    exact/near duplicate groups, train/eval leaks, what was dropped
    OUT/excluded.csv      records left out by --exclude, and why
    OUT/stats.json        flat numbers for `dvc metrics`
    """
    from hqseg.data.build import build
    from hqseg.data.custom.compose import specs_from_params

    if custom_from:
        add = [*add, *specs_from_params(custom_from)]
    stats = build(
        preset,
        normalized_dir=normalized_dir,
        raw_dir=raw_dir,
        out=out,
        dedup=dedup,
        near_threshold=near_threshold,
        allow_missing=allow_missing,
        size_mismatch=size_mismatch,
        stats_out=stats_out,
        workers=workers,
        add=add,
        licences=licences,
        custom_dir=custom_dir,
        exclude=exclude,
    )
    click.echo(json.dumps(stats, indent=2))


@click.command("publish")
@click.option(
    "--dir",
    "folder",
    default="data/hqseg44k",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Build folder to upload (from `hqseg build`).",
)
@click.option("--repo-id", required=True, help="Hub dataset repo, ORG/NAME (created if needed).")
@click.option("--private", is_flag=True, help="Create the repo as private.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the files that would be uploaded, upload nothing; exit 2 with "
    "'the upload would be refused' when the real upload would be (a sample build).",
)
@click.option(
    "--allow-sample",
    is_flag=True,
    help="Upload a build made from the embedded sample (refused otherwise: it is not HQSeg-44K).",
)
def publish_cmd(folder, repo_id, private, dry_run, allow_sample):
    """Upload a build folder to the Hugging Face Hub as a dataset repo.

    The card is validated first, and a sample build (as its stats.json says, whatever
    the card says) is refused unless --allow-sample; --dry-run says so and exits 2.
    The token is read from HF_TOKEN or a previous `hf auth login`.
    """
    from hqseg.data.publish import (
        PublishError,
        check_repo_id,
        publish,
        publish_plan,
        sample_refusal,
    )

    check_repo_id(repo_id)
    plan = publish_plan(folder)
    if dry_run:
        for path, size in plan:
            click.echo(f"{size:>14,}  {path}")
        total = sum(size for _, size in plan)
        click.echo(f"dry run: {len(plan)} files, {total:,} bytes -> datasets/{repo_id}")
        refusal = sample_refusal(folder, allow_sample)
        if refusal:
            raise PublishError(f"dry run: the upload would be refused: {refusal}")
        return
    click.echo(publish(folder, repo_id, private=private, allow_sample=allow_sample))


COMMANDS = [normalize_cmd, build_cmd, publish_cmd]

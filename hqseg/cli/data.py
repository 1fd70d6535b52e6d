"""Data commands: ``hqseg sources``, ``hqseg sample``, ``hqseg download``."""

from __future__ import annotations

from pathlib import Path

import click

from hqseg.data.limits import DEFAULT_EXTRACT_LIMITS, ExtractLimits, parse_size


class _Size(click.ParamType):
    """A byte size: ``500M``, ``4G``, ``1048576``."""

    name = "SIZE"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


SIZE = _Size()

ORIGIN_HELP = (
    "Where the archives come from (the words of params.yaml download.origin): 'original' "
    "(each dataset's own archives), 'repack' (the HQ-SAM authors' DIS5K.zip / "
    "cascade_psp.zip / thin_object_detection.zip), 'sample' (the embedded generated "
    "archives: --from defaults to data/sample) or 'local' (archives you have: needs --from)."
)
SAMPLE_DIR = Path("data/sample")


@click.command("sources")
@click.option(
    "--raw-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also show, for each source extracted under this folder, its status and the "
    "number of image/mask pairs per split (e.g. data/raw).",
)
def sources_cmd(raw_dir: Path | None) -> None:
    """List the sources: origins, archives, whether a checksum is known, licence."""
    from hqseg.data.catalog import ARCHIVES, ORIGINS, SOURCES, archive_file_name

    for entry in SOURCES.values():
        click.secho(f"{entry.name}  ({entry.title})", bold=True)
        for origin in ORIGINS:
            uses = entry.original if origin == "original" else entry.repack
            if not uses:
                click.echo(f"  {origin:8}  -")
                continue
            parts = []
            for use in uses:
                a = ARCHIVES[use.archive]
                known = (
                    "sha256 known"
                    if a.sha256
                    else "unofficial sha256 listed"
                    if a.alt_sha256
                    else "no published sha256"
                )
                only = f" [{', '.join(use.members)}]" if use.members else ""
                parts.append(f"{archive_file_name(a.name)}{only} ({known})")
            click.echo(f"  {origin:8}  " + "; ".join(parts))
        click.echo(f"  licence   {entry.licence}")
        if entry.aliases:
            click.echo(f"  aliases   {', '.join(entry.aliases)}")
        if raw_dir is not None:
            click.echo(f"  raw       {_status(entry.name, raw_dir / entry.name)}")


def _status(name: str, folder: Path) -> str:
    from hqseg.data.manifest import ManifestError, load_manifest
    from hqseg.data.sources import count_pairs

    try:
        manifest = load_manifest(folder)
    except ManifestError as exc:
        return f"{folder}: damaged, not trusted ({exc})"
    if not manifest or not manifest.get("complete"):
        return f"{folder}: " + ("incomplete" if folder.exists() else "not downloaded")
    pairs, rejects = count_pairs(name, folder)
    extraction, layout = len(manifest.get("rejects", [])), sum(rejects.values())
    counts = ", ".join(f"{split}={n}" for split, n in pairs.items())
    origin = manifest["origin"]
    return (
        f"{folder}: {origin}, pairs {counts}; {extraction} member(s) rejected at extraction, "
        f"{layout} file(s) by layout"
    )


@click.command("sample")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/sample"),
    show_default=True,
    help="Folder to write the sample archives, SHA256SUMS and manifest.json into "
    "(replaced as a whole; a folder holding files but no `hqseg sample` marker is refused).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Random seed; the same seed gives byte-identical archives.",
)
@click.option(
    "--scale",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="Multiply the number of ordinary pairs per source and split.",
)
def sample_cmd(out: Path, seed: int, scale: int) -> None:
    """Write small archives for every source in its exact real layout (offline data).

    Original releases go to OUT/<source>/, the HQ-SAM repack to OUT/repack/.
    OUT/manifest.json holds the known truth: valid pairs per source and split, and
    the planted bad files with the reject reason the pipeline must give.
    OUT/preview.png shows a few pairs per source (mask outlines in green).
    Use them with: hqseg download SOURCE --from OUT
    """
    from hqseg.sample import write_sample

    manifest = write_sample(out, seed, scale=scale)
    for source, splits in manifest["pairs"]["original"].items():
        counts = ", ".join(f"{k}={v}" for k, v in splits.items())
        click.echo(f"{source:13} valid pairs: {counts}")
    click.echo(f"wrote {out} (manifest.json, SHA256SUMS, preview.png)")


@click.command("download")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "--origin",
    type=click.Choice(["original", "repack", "sample", "local"]),
    default="original",
    show_default=True,
    help=ORIGIN_HELP,
)
@click.option(
    "--from",
    "from_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Ingest archives you already have instead of downloading: a folder holding them "
    "(searched as <name>, <source>/<name>, */<name>; e.g. the output of `hqseg sample`) "
    "or one archive file, or a folder with the already-extracted layout. Same checks.",
)
@click.option(
    "--raw-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/raw"),
    show_default=True,
    help="Each source is extracted atomically into RAW_DIR/<source>/.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/downloads"),
    show_default=True,
    help="Downloaded archives are kept here (partial ones in .incoming/ for resume).",
)
@click.option(
    "--mirror",
    "mirrors",
    multiple=True,
    metavar="URL",
    help="Fetch each archive as URL/<file name> instead of from the catalog's addresses "
    "(repeatable; tried in order).",
)
@click.option(
    "--checksums",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A SHA256SUMS file ('<sha256>  <file>' lines) giving "
    "expected hashes; overrides the catalog.",
)
@click.option(
    "--no-verify",
    is_flag=True,
    help="Accept a file whose sha256 does not "
    "match (loud warning; the computed hash is recorded in the manifest).",
)
@click.option("--force", is_flag=True, help="Redo even if RAW_DIR/<source> is complete.")
@click.option(
    "--retries",
    type=click.IntRange(0, 20),
    default=3,
    show_default=True,
    help="Retries per URL on network errors (each resumes the partial file).",
)
@click.option(
    "--max-member-bytes",
    type=SIZE,
    default=str(DEFAULT_EXTRACT_LIMITS.member_bytes),
    show_default="4G",
    help="Largest uncompressed archive member; a larger one is the reject too-large.",
)
@click.option(
    "--max-archive-bytes",
    type=SIZE,
    default=str(DEFAULT_EXTRACT_LIMITS.archive_bytes),
    show_default="64G",
    help="Largest total uncompressed size of one archive; a larger archive is refused.",
)
@click.option(
    "--max-ratio",
    type=click.FloatRange(min=1.0),
    default=DEFAULT_EXTRACT_LIMITS.ratio,
    show_default=True,
    help="Largest expansion ratio (uncompressed/compressed) of a member or archive over "
    "16 MiB: a higher one is a decompression bomb (member: reject; archive: refused).",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Progress bars on a terminal (log lines elsewhere); as for train and eval.",
)
@click.option("--quiet", is_flag=True, hidden=True, help="Deprecated: --no-progress.")
def download_cmd(
    sources,
    origin,
    from_path,
    raw_dir,
    cache_dir,
    mirrors,
    checksums,
    no_verify,
    force,
    retries,
    max_member_bytes,
    max_archive_bytes,
    max_ratio,
    progress,
    quiet,
) -> None:
    """Download (or ingest) SOURCE..., verify sha256, and extract it safely.

    \b
    SOURCE: dis5k, thinobject5k, fss1000, ecssd, msra10k, duts, dut_omron,
            coift, hrsod, or 'all'; dis_vd is an alias of dis5k (its val split).

    Extraction never writes outside RAW_DIR/<source>; unsafe members (absolute
    paths, '..', links leaving the folder) are listed as rejected, junk
    (__MACOSX, .DS_Store) is skipped. A manifest with archive hashes and rejects
    is written to RAW_DIR/<source>/.hqseg/download.json; a folder without it is
    never trusted. Re-running on a complete folder does nothing. Extraction is bounded
    (--max-member-bytes, --max-archive-bytes, --max-ratio; sizes as 500M, 4G).
    """
    from hqseg.data.download import download_source
    from hqseg.data.sources import source_names

    if quiet:  # the old spelling, kept working for one release
        click.secho("warning: --quiet is deprecated; use --no-progress", fg="yellow", err=True)
        progress = False
    if origin == "local" and from_path is None:
        raise click.UsageError(
            "--origin local reads archives you already have: give their folder with --from PATH"
        )
    if origin == "sample" and from_path is None:
        from_path = SAMPLE_DIR
        if not from_path.is_dir():
            raise click.UsageError(
                f"--origin sample reads {SAMPLE_DIR}: run `hqseg sample` first, or give "
                "the folder with --from PATH"
            )
    if origin in ("sample", "local"):
        origin = "original"  # their archives have the original releases' layout
    names = source_names() if "all" in sources else list(sources)
    for name in names:
        if origin == "repack" and name == "dut_omron" and "all" in sources:
            continue
        manifest = download_source(
            name,
            origin=origin,
            from_path=from_path,
            raw_dir=raw_dir,
            cache_dir=cache_dir,
            mirrors=mirrors,
            checksums=checksums,
            verify_checksums=not no_verify,
            force=force,
            retries=retries,
            progress=progress,
            log=click.echo,
            limits=ExtractLimits(max_member_bytes, max_archive_bytes, max_ratio),
        )
        click.echo(f"  {_status(manifest['source'], raw_dir / manifest['source'])}")


COMMANDS = [sources_cmd, sample_cmd, download_cmd]

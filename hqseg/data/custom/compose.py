"""Adding custom sources to a build (``hqseg build --add SPEC [--licence TEXT]``).

Rules:

* ``--licence`` is given once (it applies to every ``--add``) or once per ``--add``
  (in the same order); a spec's own ``?licence=`` wins over both. Any other count
  is an error.
* Source names must be unique and differ from the public sources' names.
* A custom source's splits named by ``train=`` (default ``train``) join
  ``default/train`` after the preset's sources (so deduplication keeps a public
  record over a user's copy); every other split is evaluation data: never dropped,
  and a training record duplicating it is a leak, as with ``hq_eval``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path

from hqseg.data.card import FALLBACK_TERMS, SourceInfo
from hqseg.data.custom.spec import SourceSpec, SpecError, check_name, parse_spec
from hqseg.data.exclude import Excluded, count_by_source

NO_LICENCE = "not stated (give it with --licence)"
RESERVED = ("default", "hq_eval")  # config names of every build


def resolve_added(
    add: Sequence[str | SourceSpec], licences: Sequence[str], known: Sequence[str]
) -> list[SourceSpec]:
    """Parse the ``--add`` specs and attach their licences (see the module rules).

    ``add`` holds spec strings (``--add``; ``licences`` map onto these, in order) and
    already parsed specs (from params.yaml, which carry their own licence).

    Raises:
        SpecError: bad spec, licence count, or a name clash.
    """
    given = [isinstance(a, str) for a in add]
    specs = [parse_spec(a) if isinstance(a, str) else a for a in add]
    if licences and not any(given):
        raise SpecError("--licence given without --add")
    if len(licences) not in (0, 1, sum(given)):
        raise SpecError(
            f"give --licence once (for all) or once per --add: {sum(given)} --add, "
            f"{len(licences)} --licence"
        )
    out, seen, n_given = [], set(), 0
    for spec, from_cli in zip(specs, given, strict=True):
        if spec.name in known or spec.name in RESERVED:
            what = "a config name of the build" if spec.name in RESERVED else "a public source"
            raise SpecError(
                f"{spec.text!r}: source name {spec.name!r} is {what}; choose another with ?name=..."
            )
        if spec.name in seen:
            raise SpecError(f"{spec.text!r}: source name {spec.name!r} is used twice; set ?name=")
        seen.add(spec.name)
        if from_cli and licences and "licence" not in spec.options:
            spec = with_options(spec, licence=licences[min(n_given, len(licences) - 1)])
        n_given += from_cli
        out.append(spec)
    return out


def with_options(spec: SourceSpec, **options: str) -> SourceSpec:
    """``spec`` with ``options`` set (empty values ignored); its text is unchanged.

    Raises:
        SpecError: ``name`` is not a valid source name (:func:`~.spec.check_name`).
    """
    extra = {k: v for k, v in options.items() if v}
    if "name" in extra:
        check_name(extra["name"], spec.text)
    return dataclasses.replace(spec, options={**spec.options, **extra}) if extra else spec


def specs_from_params(path: str | Path, key: str = "custom") -> list[SourceSpec]:
    """The custom sources declared in a params file's ``custom:`` list.

    Each entry is a spec string or a mapping with ``spec`` (required), ``name`` and
    ``licence`` (override the spec's), and ``path`` (read by DVC only: the file or
    folder it watches). A missing or empty list gives no source.

    Raises:
        ParamsError: a missing or malformed file (:mod:`hqseg.utils.params_yaml`).
        SpecError: an entry that is not one of those shapes.
    """
    from hqseg.utils.params_yaml import read_params

    entries = read_params(path).get(key) or []
    if not isinstance(entries, list):
        raise SpecError(f"{path}: {key}: must be a list of sources")
    out = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"spec": entry}
        allowed = {"spec", "name", "licence", "license", "path"}
        if not isinstance(entry, dict) or "spec" not in entry or set(entry) - allowed:
            raise SpecError(
                f"{path}: {key}[{i}] must be a spec string or a mapping with spec "
                "(and optionally name, licence, path)"
            )
        licence = str(entry.get("licence", entry.get("license", "")) or "")
        out.append(with_options(parse_spec(str(entry["spec"])),
                                name=str(entry.get("name") or ""), licence=licence))  # fmt: skip
    return out


def source_info(summary: dict) -> SourceInfo:
    """The card's terms line for a custom source."""
    return SourceInfo(
        summary["source"],
        title=f"{summary['source']} (custom {summary.get('kind', '')} source)",
        licence=summary.get("licence") or NO_LICENCE,
        citation=f"the user's data, `{summary.get('spec', '')}`",
    )


def added_section(summaries: dict[str, dict], counts: dict[str, dict[str, int]]) -> str:
    """The card's "Added sources" section: spec, licence and counts of each custom source."""
    rows = []
    for name, s in summaries.items():
        splits = ", ".join(f"{sp} {n:,}" for sp, n in counts.get(name, {}).items()) or "none"
        rows.append(
            f"| `{name}` | {s.get('kind', '')} | `{s.get('spec', '')}` | "
            f"{s.get('licence') or NO_LICENCE} | {', '.join(s.get('train_splits', []))} | "
            f"{s.get('inputs', 0):,} | {splits} | {s.get('rejects', 0):,} |"
        )
    return (
        "## Added sources\nSources given with `--add` (custom data). Splits named under "
        "*training* join `default/train`; the others are evaluation data, checked for "
        "leaks like `hq_eval`.\n\n"
        "| source | kind | spec | licence | training | inputs | records | rejects |\n"
        "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows)
    )


def conservation(
    summaries: dict[str, dict],
    counts: dict[str, dict[str, int]],
    rejects_by_source: dict[str, dict[str, int]],
    dropped: set[str],
    excluded: Iterable[Excluded] = (),
) -> dict[str, dict[str, int]]:
    """Per source: ``inputs``, ``records`` (in the build), ``rejects``, ``dropped``, ``excluded``.

    ``inputs`` is what normalisation enumerated (pairs found plus listing and
    download rejects); it must equal records + rejects + dropped + excluded
    (``--exclude``).

    Raises:
        DatasetError: it does not (an item was lost without a trace).
    """
    from hqseg.errors import DatasetError

    dropped_by: dict[str, int] = {}
    for rid in dropped:
        source = rid.split("/", 1)[0]
        dropped_by[source] = dropped_by.get(source, 0) + 1
    excluded_by = count_by_source(excluded)
    out = {}
    for source, summary in summaries.items():
        n_rejects = sum(rejects_by_source.get(source, {}).values())
        kept = sum(counts.get(source, {}).values())
        row = {
            "inputs": int(summary.get("inputs", summary["records"] + summary["rejects"])),
            "records": kept,
            "rejects": n_rejects,
            "dropped": dropped_by.get(source, 0),
            "excluded": excluded_by.get(source, 0),
        }
        if row["inputs"] != kept + n_rejects + row["dropped"] + row["excluded"]:
            raise DatasetError(
                f"{source}: {row['inputs']} inputs but {kept} records + {n_rejects} rejects + "
                f"{row['dropped']} dropped duplicates + {row['excluded']} excluded; rebuild "
                "after deleting its normalised folder"
            )
        out[source] = row
    return out


def custom_dir_default(normalized_dir: Path) -> Path:
    """Where custom sources are normalised unless told: next to ``normalized_dir``."""
    return Path(normalized_dir).parent / "custom"


__all__ = ["FALLBACK_TERMS", "added_section", "conservation", "custom_dir_default",
           "resolve_added", "source_info", "specs_from_params", "with_options"]  # fmt: skip

"""Upload a build folder to the Hugging Face Hub as a dataset repo.

The token comes from ``HF_TOKEN`` or a previous ``hf auth login``;
huggingface_hub resolves it. Only the files a build writes are uploaded
(:func:`publish_plan`), in one commit, never temporary or hidden files. Before
anything is sent, :func:`check_card` validates the card, and a build made from
the embedded sample is refused unless ``allow_sample`` (:func:`sample_refusal`: read
from the build's ``stats.json``, not from the card).

The Hub address is huggingface_hub's (``HF_ENDPOINT``, read when it is first
imported); tests point it at a loopback stand-in that records the calls.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hqseg.data.card import LICENSE_FILE, parse_front_matter
from hqseg.errors import HqsegError

TOP_FILES = ("README.md", LICENSE_FILE, "rejects.csv", "duplicates.csv", "stats.json")


class PublishError(HqsegError):
    """The folder cannot be published (not a build, no token, no network, Hub refused)."""


def publish_plan(folder: str | os.PathLike) -> list[tuple[str, int]]:
    """The (path in repo, size in bytes) pairs to upload, sorted.

    Raises:
        PublishError: ``folder`` is not a complete ``hqseg build`` folder.
    """
    folder = Path(folder)
    card = folder / "README.md"
    if not card.is_file():
        raise PublishError(f"{folder}: no README.md card; run `hqseg build` first")
    import yaml

    try:
        meta = parse_front_matter(card.read_text())
    except (ValueError, yaml.YAMLError) as exc:
        problem = " ".join(str(exc).split())  # YAML errors span several lines
        raise PublishError(f"{card}: the card has no valid YAML front matter: {problem}") from exc
    files = [folder / name for name in TOP_FILES if (folder / name).is_file()]
    files += sorted((folder / "data").rglob("*.parquet"))
    plan = [(f.relative_to(folder).as_posix(), f.stat().st_size) for f in files]
    check_card(meta, {path for path, _ in plan}, card)
    return plan


def sample_refusal(folder: str | os.PathLike, allow_sample: bool = False) -> str | None:
    """Why the upload of build ``folder`` is refused as a sample build, or None.

    Decided by the build's own ``stats.json`` (``"sample": true|false``, written by
    ``hqseg build`` from the download manifests), not by the card, whose text is the
    user's to edit: a card changed to ``sample: false`` does not lift the refusal (a
    card that says ``sample: true`` is refused too). A ``stats.json`` that does not say
    (missing, unreadable, an older build) is refused, since the build cannot be shown
    to be real; ``allow_sample`` lifts every refusal.
    """
    if allow_sample:
        return None
    stats_file = Path(folder) / "stats.json"
    try:
        sample = json.loads(stats_file.read_text(encoding="utf-8")).get("sample")
    except (OSError, ValueError, RecursionError, AttributeError):
        sample = None
    said_by = "stats.json" if sample is True else "card" if _card_says_sample(folder) else None
    if said_by:
        return (
            f"{folder} was built from the embedded sample (its {said_by} says sample: true), "
            "not from the real sources; it is not HQSeg-44K. Pass --allow-sample to upload "
            "it anyway (e.g. to a test repo)"
        )
    if sample is False:
        return None
    return (
        f"{stats_file} does not say whether the build was made from the embedded sample "
        '(no "sample": true/false); rebuild with `hqseg build`, or pass --allow-sample'
    )


def _card_says_sample(folder: str | os.PathLike) -> bool:
    try:
        meta = parse_front_matter((Path(folder) / "README.md").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and bool(meta.get("sample"))


def check_card(meta: dict, files: set[str], card: Path) -> None:
    """Raise :class:`PublishError` unless the card's metadata follows the Hub conventions
    this project promises and every data file its configs name is uploaded."""
    if not isinstance(meta, dict):
        raise PublishError(f"{card}: the front matter is not a mapping")
    needed = ("license", "license_name", "license_link", "task_categories", "configs")
    missing = [k for k in needed if not meta.get(k)]
    if missing:
        raise PublishError(
            f"{card}: card metadata lacks {', '.join(missing)}; rebuild with `hqseg build`"
        )
    if meta["license_link"] not in files:
        raise PublishError(f"{card}: license_link {meta['license_link']} is not in the folder")
    for config in meta["configs"]:
        for entry in config.get("data_files", []):
            paths = entry.get("path", [])
            for path in [paths] if isinstance(paths, str) else paths:
                if path not in files:
                    raise PublishError(
                        f"{card}: config {config.get('config_name')!r} names {path}, "
                        "which is not in the folder; rebuild with `hqseg build`"
                    )


def check_repo_id(repo_id: str) -> None:
    """Raise :class:`PublishError` unless ``repo_id`` is a valid Hub ``ORG/NAME``."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        if repo_id.count("/") != 1:
            raise HFValidationError("expected exactly one '/'")
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise PublishError(f"--repo-id must be ORG/NAME, not {repo_id!r} ({exc})") from exc


def publish(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    allow_sample: bool = False,
    message: str = "Upload HQSeg-44K built by hqseg",
) -> str:
    """Create (if needed) the dataset repo ``repo_id`` and upload the build; returns its URL.

    The upload is one commit of exactly :func:`publish_plan`'s files.

    Raises:
        PublishError: a sample build without ``allow_sample``, an invalid card, no
            token, network failure, or the Hub refused, with the reason.
    """
    from huggingface_hub import CommitOperationAdd, HfApi, get_token
    from huggingface_hub.errors import HfHubHTTPError

    folder = Path(folder)
    plan = publish_plan(folder)
    check_repo_id(repo_id)
    refusal = sample_refusal(folder, allow_sample)
    if refusal:
        raise PublishError(refusal)
    token = token or get_token()
    if not token:
        raise PublishError("no Hugging Face token: run `hf auth login` (or set HF_TOKEN)")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        info = api.create_commit(
            repo_id=repo_id,
            repo_type="dataset",
            operations=[
                CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(folder / path))
                for path, _ in plan
            ],
            commit_message=message,
        )
    except HfHubHTTPError as exc:
        raise PublishError(f"the Hub refused the upload to {repo_id}: {exc}") from exc
    except Exception as exc:  # transport errors of the HTTP client (no network, DNS, TLS)
        raise PublishError(
            f"cannot reach the Hugging Face Hub ({type(exc).__name__}: {exc})"
        ) from exc
    return str(getattr(info, "commit_url", "") or f"https://huggingface.co/datasets/{repo_id}")

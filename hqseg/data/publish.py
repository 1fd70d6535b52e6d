"""Upload a build folder to the Hugging Face Hub as a dataset repo.

The token comes from ``HF_TOKEN`` (or ``HUGGING_FACE_HUB_TOKEN``) or a previous
``huggingface-cli login``; huggingface_hub resolves it. Only the files a build
writes are uploaded (:func:`publish_plan`), never temporary or hidden files.
"""

from __future__ import annotations

import os
from pathlib import Path

from hqseg.data.card import parse_front_matter
from hqseg.errors import HqsegError

TOP_FILES = ("README.md", "rejects.csv", "duplicates.csv", "stats.json")


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
        parse_front_matter(card.read_text())
    except (ValueError, yaml.YAMLError) as exc:
        problem = " ".join(str(exc).split())  # YAML errors span several lines
        raise PublishError(f"{card}: the card has no valid YAML front matter: {problem}") from exc
    files = [folder / name for name in TOP_FILES if (folder / name).is_file()]
    files += sorted((folder / "data").rglob("*.parquet"))
    return [(f.relative_to(folder).as_posix(), f.stat().st_size) for f in files]


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
    message: str = "Upload HQSeg-44K built by hqseg",
) -> str:
    """Create (if needed) the dataset repo ``repo_id`` and upload the build; returns its URL.

    Raises:
        PublishError: no token, network failure, or the Hub refused, with the reason.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError

    plan = publish_plan(folder)
    check_repo_id(repo_id)
    api = HfApi(token=token)
    try:
        if not (token or api.token):
            raise LocalTokenNotFoundError("no token")
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=str(folder),
            allow_patterns=[path for path, _ in plan],
            commit_message=message,
        )
    except LocalTokenNotFoundError:
        raise PublishError(
            "no Hugging Face token: set HF_TOKEN or run `huggingface-cli login`"
        ) from None
    except HfHubHTTPError as exc:
        raise PublishError(f"the Hub refused the upload to {repo_id}: {exc}") from exc
    except Exception as exc:  # transport errors of the HTTP client (no network, DNS, TLS)
        raise PublishError(
            f"cannot reach the Hugging Face Hub ({type(exc).__name__}: {exc})"
        ) from exc
    return str(getattr(info, "commit_url", "") or f"https://huggingface.co/datasets/{repo_id}")

"""Damaged inputs to the data commands end in a one-line error (exit 2), never a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.data.download import download_source
from hqseg.data.manifest import MANIFEST


@pytest.fixture
def ecssd_raw(sample, tmp_path):
    folder, _ = sample
    raw_dir = tmp_path / "raw"
    download_source("ecssd", from_path=folder, raw_dir=raw_dir, progress=False, log=lambda _: None)
    return raw_dir


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1]", "expected a JSON object, got list"),
        ('{"complete": true}', "'origin' is missing"),
        ('{"complete": true, "origin": "original", "rejects": [{"a": 1}]}', "rejects[0]"),
        ("{", "not valid JSON"),
    ],
)
def test_damaged_download_manifest_is_an_error_not_a_traceback(ecssd_raw, tmp_path, text, problem):
    manifest = ecssd_raw / "ecssd" / MANIFEST
    manifest.write_text(text)
    runner = CliRunner()

    result = runner.invoke(
        main, ["normalize", "ecssd", "--raw-dir", str(ecssd_raw), "--out", str(tmp_path / "n")]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"error: {manifest}" in result.output and problem in result.output
    assert not (tmp_path / "n" / "ecssd").exists()

    listing = runner.invoke(main, ["sources", "--raw-dir", str(ecssd_raw)])
    assert listing.exit_code == 0, listing.output
    assert "ecssd: damaged, not trusted" in listing.output and problem in listing.output


def test_download_replaces_a_folder_with_a_damaged_manifest(sample, ecssd_raw):
    (ecssd_raw / "ecssd" / MANIFEST).write_text("[1]")
    result = CliRunner().invoke(
        main, ["download", "ecssd", "--from", str(sample[0]), "--raw-dir", str(ecssd_raw)]
    )
    assert result.exit_code == 0, result.output
    assert "replacing it" in result.output


@pytest.mark.parametrize(
    ("card", "repo_id", "message"),
    [
        (
            "---\nconfigs: [\n---\n",
            "org/name",
            "README.md: the card has no valid YAML front matter",
        ),
        ("---\nconfigs: []\n---\n", "name", "--repo-id must be ORG/NAME, not 'name'"),
        ("---\nconfigs: []\n---\n", "org/a b", "--repo-id must be ORG/NAME, not 'org/a b'"),
    ],
)
def test_publish_dry_run_rejects_a_bad_card_or_repo_id(tmp_path, card, repo_id, message):
    (tmp_path / "README.md").write_text(card)
    result = CliRunner().invoke(
        main, ["publish", "--dir", str(tmp_path), "--repo-id", repo_id, "--dry-run"]
    )
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1

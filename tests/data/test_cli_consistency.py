"""One spelling for progress, counts that agree, each message once (`hqseg download`)."""

from __future__ import annotations

import re

from click.testing import CliRunner

from hqseg.cli import main


def _download(sample, tmp_path, *flags):
    folder, _ = sample
    args = ["download", "ecssd", "thinobject5k", "--origin", "local", "--from", str(folder),
            "--raw-dir", str(tmp_path / "raw"), "--cache-dir", str(tmp_path / "dl"),
            *flags]  # fmt: skip
    return CliRunner().invoke(main, args)


def test_quiet_is_deprecated_for_no_progress(sample, tmp_path):
    old = _download(sample, tmp_path / "a", "--quiet")
    new = _download(sample, tmp_path / "b", "--no-progress")
    assert old.exit_code == new.exit_code == 0, old.output + new.output
    assert old.output.count("--quiet is deprecated; use --no-progress") == 1
    assert "is deprecated" not in new.output
    help_text = CliRunner().invoke(main, ["download", "--help"]).output
    assert "--no-progress" in help_text and "--quiet" not in help_text


def test_checksums_message_once_and_reject_counts_agree(sample, tmp_path):
    result = _download(sample, tmp_path, "--no-progress")
    assert result.exit_code == 0, result.output
    sums = re.findall(r"^using checksums from .*$", result.output, flags=re.M)
    assert len(sums) == 2  # one per source (ecssd reads two archives next to it)
    for source in ("ecssd", "thinobject5k"):
        extracted = re.search(rf"^{source}: extracted .*, (\d+) member\(s\) rejected\)$",
                              result.output, flags=re.M)  # fmt: skip
        status = re.search(rf"raw/{source}: .*; (\d+) member\(s\) rejected at extraction, "
                           r"(\d+) file\(s\) by layout$", result.output, flags=re.M)  # fmt: skip
        assert extracted and status, result.output
        assert extracted.group(1) == status.group(1)
    # the sample plants one unsafe member in ecssd and one stray file in thinobject5k
    assert re.search(r"raw/ecssd: .*; 1 member\(s\) rejected at extraction, 0 file", result.output)
    assert re.search(r"raw/thinobject5k: .*; 0 member\(s\) rejected at extraction, 1 file",
                     result.output)  # fmt: skip

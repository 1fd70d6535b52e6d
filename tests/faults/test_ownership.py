"""Ownership by the marker alone (issue 17, item 1): names never make an output ours.

Every command with ``--out`` replaces a folder only if it is absent, holds no file, or
carries this command's marker; single-file outputs overwrite only a file whose sidecar
marker records it, or with ``--force``; the temp and set-aside folders a run removes
are only those its journal (the lock file) recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "build"))
from build_helpers import blob, ecssd_raw, photo, save  # noqa: E402

from hqseg.cli import main  # noqa: E402

USERS = b"years of work"


def _run(args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    return res.exit_code, res.output


def _refused(code, output):
    assert code == 2, output
    assert output.startswith("error: ") and output.count("\n") == 1, output


def _plant(root: Path, *names: str) -> dict[Path, bytes]:
    """User files at ``root/name`` (each with its own content); return them."""
    files = {}
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(USERS + name.encode())
        files[path] = path.read_bytes()
    return files


def _untouched(files: dict[Path, bytes]) -> None:
    for path, data in files.items():
        assert path.read_bytes() == data, path


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    """A one-pair folder: source (images/, masks/)."""
    root = tmp_path_factory.mktemp("bench")
    save(photo(0), root / "images" / "0.jpg", quality=90)
    save(blob(), root / "masks" / "0.png")
    return root


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """An eval/ folder as `eval hq` writes it (for `report`)."""
    from hqseg.utils.outdir import output_dir

    root = tmp_path_factory.mktemp("res")
    with output_dir(root / "hq", "eval hq", manifest=True) as tmp:
        (tmp / "per_image.csv").write_text(
            "id,benchmark,model,iou,biou\nthin/a,thin,sam,0.5,0.4\nthin/a,thin,hq_sam,0.7,0.6\n"
        )
        (tmp / "metrics.json").write_text(json.dumps({"thin": {"sam": {"mIoU": 50.0}}}))
    return root


# The cases: a folder holding only names the command writes, without its marker.
CASES = {
    "sample": (["duts/a.png"], lambda out, fx: ["sample", "--out", out]),
    "build": (["data/x.parquet", "README.md"], lambda out, fx: [
        "build", "--raw-dir", fx["raw"], "--normalized", fx["tmp"] / "n", "--out", out,
        "--allow-missing", "--workers", "1"]),
    "eval coco-sample": (["images/1.png", "annotations/a.json"],
                         lambda out, fx: ["eval", "coco-sample", "--out", out]),
    "report": (["report.md", "plots/p.png"], lambda out, fx: [
        "report", "--results", fx["results"], "--out", out, "--paper", ""]),
    "eval hq": (["metrics.json"], lambda out, fx: [
        "eval", "hq", "--benchmark", f"folder:{fx['bench']}?name=mine", "--out", out,
        "--model-type", "test_vit", "--checkpoint", fx["model"], "--device", "cpu",
        "--no-sam", "--no-progress"]),
    "train": (["summary.json"], lambda out, fx: [
        "train", "--data", "no-such-build", "--out", out, "--model-type", "test_vit",
        "--max-steps", "1", "--device", "cpu", "--no-progress"]),
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(CASES))
def test_names_alone_never_make_a_folder_ours(command, tmp_path, bench, model, results):
    names, args = CASES[command]
    ecssd_raw(tmp_path / "raw", 1) if command == "build" else None
    fx = {"tmp": tmp_path, "raw": tmp_path / "raw", "bench": bench, "model": model,
          "results": results}  # fmt: skip
    mine = _plant(tmp_path / "out", *names)
    code, out = _run(args(tmp_path / "out", fx))
    _refused(code, out)
    assert "did not write" in out
    _untouched(mine)


def test_normalize_source_folder_with_only_csv_names_is_refused(tmp_path, bench):
    mine = _plant(tmp_path / "norm" / "mine", "notes.csv", "rejects.csv")
    code, out = _run(["normalize", f"folder:{bench}", "--name", "mine", "--out",
                      tmp_path / "norm"])  # fmt: skip
    _refused(code, out)
    _untouched(mine)


def test_folder_holding_only_empty_folders_is_taken(tmp_path):
    """What `dvc repro` leaves of a stage's folder once it deleted the outputs (marker
    included): empty folders and DVC's .gitignore. Nothing to lose, so it is written."""
    out = tmp_path / "s"
    (out / "dvclive" / "plots").mkdir(parents=True)
    (out / ".gitignore").write_text("/checkpoints\n")
    code, text = _run(["sample", "--out", out])
    assert code == 0, text
    assert (out / "manifest.json").is_file()
    assert (out / ".gitignore").read_text() == "/checkpoints\n"


def test_train_takes_a_run_folder_that_dvc_emptied(tmp_path):
    """The folder check passes (this run then stops at its missing data, not at the folder)."""
    run = tmp_path / "run"
    (run / "dvclive" / "plots").mkdir(parents=True)
    (run / ".gitignore").write_text("/checkpoints\n")
    code, out = _run(CASES["train"][1](run, {}))
    _refused(code, out)
    assert "does not exist" in out and "did not write" not in out


def test_rerun_replaces_its_own_output(tmp_path):
    out = tmp_path / "c"
    assert _run(["eval", "coco-sample", "--out", out])[0] == 0
    (out / "detections.json").write_text("stale")
    code, text = _run(["eval", "coco-sample", "--out", out])
    assert code == 0, text
    assert json.loads((out / "detections.json").read_text())


def test_look_alike_temp_and_aside_siblings_are_never_touched(tmp_path):
    mine = _plant(tmp_path, ".res.old-a/keep.txt", ".res.tmp-b/keep.txt", ".res.old-1234/k")
    for _ in range(2):  # the second run replaces the first one's output (an aside folder)
        code, text = _run(["sample", "--out", tmp_path / "res"])
        assert code == 0, text
    _untouched(mine)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".res.old-1234", ".res.old-a", ".res.tmp-b", "res"]  # fmt: skip


def test_a_killed_runs_temp_folder_is_removed_by_the_next_run(tmp_path):
    """Kill -9 just before the swap: its temp folder (recorded in the lock's journal)
    is removed by the rerun, while a look-alike of the user's stays."""
    mine = _plant(tmp_path, ".c.tmp-mine/keep.txt")
    cmd = [sys.executable, "-m", "hqseg.cli", "eval", "coco-sample", "--out", "c"]
    env = {**os.environ, "HQSEG_FAULT_KILL_AT_RENAME": "1"}
    killed = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".c.tmp-"))
    assert len(left) == 2 and not (tmp_path / "c").exists(), left
    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c.tmp-mine", "c"]
    _untouched(mine)


def test_a_lock_file_that_is_not_ours_is_refused(tmp_path):
    mine = _plant(tmp_path, ".res.lock")
    code, out = _run(["sample", "--out", tmp_path / "res"])
    _refused(code, out)
    assert "not an hqseg lock file" in out
    _untouched(mine)
    assert not (tmp_path / "res").exists()


# ---------------------------------------------------------------- single files
def _coco_files(root: Path) -> tuple[Path, Path]:
    """A one-image COCO ground truth and a results file that matches it exactly."""
    import numpy as np
    from pycocotools import mask as mask_utils

    m = np.zeros((16, 16), np.uint8, order="F")
    m[4:12, 4:12] = 1
    rle = mask_utils.encode(m)
    rle["counts"] = rle["counts"].decode()
    gt = {"images": [{"id": 1, "height": 16, "width": 16, "file_name": "a.png"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": rle,
                           "area": 64, "bbox": [4, 4, 8, 8], "iscrowd": 0}],
          "categories": [{"id": 1, "name": "x"}]}  # fmt: skip
    res = [{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": rle}]
    (root / "gt.json").write_text(json.dumps(gt))
    (root / "res.json").write_text(json.dumps(res))
    return root / "gt.json", root / "res.json"


def _single_file_args(kind, tmp_path, model, out, *extra):
    if kind == "export":
        return ["export", model, "--out", out, *extra]
    gt, res = _coco_files(tmp_path)
    return ["eval", "results", "--gt", gt, "--results", res, "--iou-type", "segm",
            "--workers", "1", "--out", out, *extra]  # fmt: skip


@pytest.mark.parametrize("kind", ["export", "eval results"])
def test_single_file_output_overwrites_only_its_own_file(kind, tmp_path, model):
    thesis = tmp_path / "thesis.txt"
    thesis.write_bytes(USERS)
    code, out = _run(_single_file_args(kind, tmp_path, model, thesis))
    _refused(code, out)
    assert "--force" in out and thesis.read_bytes() == USERS

    code, out = _run(_single_file_args(kind, tmp_path, model, thesis, "--force"))
    assert code == 0, out
    written = thesis.read_bytes()
    assert written != USERS and (tmp_path / ".thesis.txt.hqseg-output.json").is_file()

    code, out = _run(_single_file_args(kind, tmp_path, model, thesis))  # ours now: replaced
    assert code == 0, out
    assert thesis.read_bytes() == written

    thesis.write_bytes(written + b"\nmy notes")  # changed by the user: theirs again
    code, out = _run(_single_file_args(kind, tmp_path, model, thesis))
    _refused(code, out)
    assert thesis.read_bytes() == written + b"\nmy notes"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [
        ".thesis.txt.hqseg-output.json"]  # fmt: skip


def test_single_file_output_refuses_a_link_even_with_force(tmp_path, model):
    (tmp_path / "thesis.txt").write_bytes(USERS)
    (tmp_path / "link.pth").symlink_to(tmp_path / "thesis.txt")
    code, out = _run(["export", model, "--out", tmp_path / "link.pth", "--force"])
    _refused(code, out)
    assert "not a regular file" in out and (tmp_path / "thesis.txt").read_bytes() == USERS


def test_build_stats_out_never_overwrites_a_users_file(tmp_path):
    ecssd_raw(tmp_path / "raw", 1)
    thesis = tmp_path / "thesis.txt"
    thesis.write_bytes(USERS)
    args = ["build", "--raw-dir", tmp_path / "raw", "--normalized", tmp_path / "n", "--out",
            tmp_path / "b", "--allow-missing", "--workers", "1", "--stats-out"]  # fmt: skip
    code, out = _run([*args, thesis])
    _refused(code, out)
    assert thesis.read_bytes() == USERS and not (tmp_path / "b").exists()
    for _ in range(2):  # a new file, then a rerun over its own earlier stats
        code, out = _run([*args, tmp_path / "stats.json"])
        assert code == 0, out
    assert json.loads((tmp_path / "stats.json").read_text()) == json.loads(
        (tmp_path / "b" / "stats.json").read_text()
    )


@pytest.mark.parametrize("where", ["lock-is-a-folder", "parent-is-a-file", "lock-is-a-link"])
def test_an_unusable_lock_or_parent_is_one_line(tmp_path, where):
    mine = _plant(tmp_path, "afile")
    out = tmp_path / "res"
    if where == "lock-is-a-folder":
        (tmp_path / ".res.lock").mkdir()
    elif where == "lock-is-a-link":
        (tmp_path / ".res.lock").symlink_to(tmp_path / "afile")
    else:
        out = tmp_path / "afile" / "res"
    code, text = _run(["sample", "--out", out])
    _refused(code, text)
    assert "cannot write" in text
    _untouched(mine)


def test_train_takes_a_run_folder_with_a_top_level_train_marker(tmp_path):
    """The committed runs/hq_sam/ of a fresh clone: its files, and train's marker at the
    top (checkpoints/, with the other marker, is in the DVC cache only)."""
    run = tmp_path / "run"
    _plant(run, "summary.json", "dvclive/metrics.json")
    (run / ".hqseg-output.json").write_text('{"command": "train", "run_id": "", "files": {}}')
    code, out = _run(CASES["train"][1](run, {}))
    _refused(code, out)
    assert "does not exist" in out and "did not write" not in out

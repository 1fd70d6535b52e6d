"""`hqseg publish` with the real huggingface_hub client against a loopback Hub stand-in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hub_standin import HubStandIn

sys.path.insert(0, str(Path(__file__).parents[1] / "build"))
from build_helpers import ecssd_raw  # noqa: E402

from hqseg.data.card import parse_front_matter  # noqa: E402


def _hqseg(args, env_extra, cwd):
    env = {**os.environ, "HF_HUB_OFFLINE": "0", **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "hqseg.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture
def hub():
    server = HubStandIn()
    yield server
    server.close()


@pytest.fixture(scope="module")
def real_build(tmp_path_factory):
    """A build folder made from user files (not the embedded sample)."""
    tmp = tmp_path_factory.mktemp("pub")
    ecssd_raw(tmp / "raw", 3)
    from hqseg.data.build import build

    build("official", normalized_dir=tmp / "n", raw_dir=tmp / "raw", out=tmp / "out",
          allow_missing=True, workers=1, progress=False)  # fmt: skip
    return tmp / "out"


def test_real_build_uploads_card_license_and_every_shard(real_build, hub, tmp_path):
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_test", "HF_HOME": str(tmp_path / "hf")}
    res = _hqseg(["publish", "--dir", str(real_build), "--repo-id", "me/hq"], env, tmp_path)
    assert res.returncode == 0, res.stderr + res.stdout
    assert hub.repos and hub.repos[0]["name"] == "hq" and hub.repos[0]["type"] == "dataset"
    assert len(hub.commits) == 1
    sent = hub.commits[0]
    shards = sorted(p.relative_to(real_build).as_posix() for p in real_build.rglob("*.parquet"))
    assert shards and all(sent[s] == (real_build / s).read_bytes() for s in shards)
    assert sent["README.md"] == (real_build / "README.md").read_bytes()
    assert "LICENSE.md" in sent and "rejects.csv" in sent
    assert not [p for p in sent if p.startswith(".")]  # no marker, no temp files
    meta = parse_front_matter(sent["README.md"].decode())
    assert meta["license"] == "other" and meta["license_link"] == "LICENSE.md"
    assert meta["license_name"] and meta["size_categories"] == ["n<1K"]
    assert "sample" not in meta
    assert hub.validated[0]["repoType"] == "dataset"
    assert hub.validated[0]["content"] == sent["README.md"].decode()
    for config in meta["configs"]:  # every file a config names was uploaded
        for entry in config["data_files"]:
            assert set(entry["path"]) <= set(sent)


def test_sample_build_is_refused_without_allow_sample(real_build, hub, tmp_path):
    sample = tmp_path / "sample_build"
    import shutil

    shutil.copytree(real_build, sample)
    card = (sample / "README.md").read_text()
    meta = parse_front_matter(card)
    meta["sample"] = True
    body = card[card.index("\n---", 4) + 4 :]
    (sample / "README.md").write_text("---\n" + yaml.safe_dump(meta) + "---" + body)
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_test", "HF_HOME": str(tmp_path / "hf")}
    res = _hqseg(["publish", "--dir", str(sample), "--repo-id", "x/y"], env, tmp_path)
    assert res.returncode == 2, res.stderr
    assert "embedded sample" in res.stderr and "--allow-sample" in res.stderr
    assert "Traceback" not in res.stderr and hub.calls == []
    res = _hqseg(["publish", "--dir", str(sample), "--repo-id", "x/y", "--allow-sample"],
                 env, tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert len(hub.commits) == 1


def test_no_token_names_hf_auth_login(real_build, hub, tmp_path):
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": "", "HF_HOME": str(tmp_path / "hf")}
    env_clean = {k: v for k, v in env.items()}
    res = _hqseg(["publish", "--dir", str(real_build), "--repo-id", "me/hq"], env_clean, tmp_path)
    assert res.returncode == 2 and "hf auth login" in res.stderr, res.stderr
    assert hub.calls == []

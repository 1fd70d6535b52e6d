"""Adapter folder listing: junk skipped, wrappers unwrapped, files by stem in name order."""

from __future__ import annotations

import os

from hqseg.data.sources.base import find_dir, image_files


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_image_files_skips_junk_and_non_images_and_follows_links(tmp_path):
    folder = tmp_path / "images"
    for name in ("b.jpg", "a.png", "._a.jpg", ".DS_Store", "notes.txt", "Thumbs.db"):
        _touch(folder / name)
    (folder / "c.jpg").mkdir()  # a folder with an image name is not a file
    os.symlink(folder / "b.jpg", folder / "d.jpg")
    rejects = []
    found = image_files(folder, rejects=rejects)
    assert list(found) == ["a", "b", "d"] and found["d"] == folder / "d.jpg"
    assert rejects == []


def test_image_files_in_a_junk_folder_finds_nothing(tmp_path):
    _touch(tmp_path / "__MACOSX" / "images" / "a.jpg")
    assert image_files(tmp_path / "__MACOSX" / "images") == {}


def test_find_dir_skips_junk_and_unwraps_same_named_folders(tmp_path):
    _touch(tmp_path / "__MACOSX" / "masks" / "a.png")
    inner = tmp_path / "z" / "masks" / "masks"
    _touch(inner / "a.png")
    _touch(tmp_path / "z" / "masks" / ".DS_Store")  # junk does not stop the unwrap
    _touch(tmp_path / "z" / "masks" / "._masks")
    assert find_dir(tmp_path, "masks") == inner
    _touch(tmp_path / "z" / "masks" / "extra.txt")  # a real sibling does
    assert find_dir(tmp_path, "masks") == tmp_path / "z" / "masks"
    assert find_dir(tmp_path, "nothing") is None


def test_find_dir_visits_siblings_in_name_order(tmp_path):
    for parent in ("b", "a", "c"):
        (tmp_path / parent / "images").mkdir(parents=True)
    _touch(tmp_path / "a" / "file.jpg")
    assert find_dir(tmp_path, "images") == tmp_path / "a" / "images"

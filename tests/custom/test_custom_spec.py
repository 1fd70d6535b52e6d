"""The spec string grammar: kinds, colons, drive letters, options, derived names."""

from __future__ import annotations

import pytest

from hqseg.data.custom.spec import SpecError, parse_spec


@pytest.mark.parametrize(
    ("text", "kind", "location", "extra", "name"),
    [
        ("folder:/data/mine", "folder", "/data/mine", (), "mine"),
        ("folder:/data/odd:name", "folder", "/data/odd:name", (), "odd_name"),
        (r"folder:C:\data\My Set-2", "folder", r"C:\data\My Set-2", (), "my_set_2"),
        ("coco:/a/instances.json", "coco", "/a/instances.json", ("",), "instances"),
        ("coco:/a/ann.json:/a/img", "coco", "/a/ann.json", ("/a/img",), "ann"),
        ("coco:D:/x/ann.JSON:D:/x/im", "coco", "D:/x/ann.JSON", ("D:/x/im",), "ann"),
        ("hf:org/My-Set", "hf", "org/My-Set", ("", ""), "my_set"),
        ("hf:org/set:cfg:val", "hf", "org/set", ("cfg", "val"), "set"),
        ("hf:/local/set::test", "hf", "/local/set", ("", "test"), "set"),
        ("hf:C:/sets/2024", "hf", "C:/sets/2024", ("", ""), "c_2024"),
        ("hf:?path=/odd:x/set&split=val", "hf", "/odd:x/set", ("", "val"), "set"),
    ],
)
def test_spec_grammar(text, kind, location, extra, name):
    spec = parse_spec(text)
    assert (spec.kind, spec.location, spec.extra, spec.name) == (kind, location, extra, name)


def test_options_name_licence_and_training_splits():
    spec = parse_spec("folder:/d?name=mine&license=CC BY 4.0&train=train,extra&images=im/*.png")
    assert spec.name == "mine" and spec.licence == "CC BY 4.0"
    assert spec.train_splits == ("train", "extra") and spec.options["images"] == "im/*.png"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mine", "KIND:LOCATION"),
        ("s3:/bucket", "KIND:LOCATION"),
        ("folder:", "no location"),
        ("coco:/x/ann.txt", "ending in .json"),
        ("hf:a:b:c:d", "?path="),
        ("folder:/x?colour=red", "unknown option"),
        ("folder:/x?name", "not key=value"),
        ("folder:/x?name=a&name=b", "given twice"),
        ("folder:/x?name=Bad Name", "lower-case"),
        ("folder:/x?path=/y", "not both"),
    ],
)
def test_bad_specs_are_clear_errors(text, message):
    with pytest.raises(SpecError, match=message.replace("?", r"\?")):
        parse_spec(text)


def test_public_and_custom_sources_are_one_adapter_kind(tmp_path):
    from custom_data import coco_dataset, folder_dataset, hf_dataset

    from hqseg.data.adapter import SourceAdapter
    from hqseg.data.custom import open_source
    from hqseg.data.sources import get_source, source_names

    folder_dataset(tmp_path / "mine")
    coco_dataset(tmp_path / "coco")
    hf_dataset(tmp_path / "hfset")
    specs = [
        f"folder:{tmp_path / 'mine'}?licence=MIT",
        f"coco:{tmp_path / 'coco' / 'annotations.json'}?name=shapes&licence=MIT",
        f"hf:{tmp_path / 'hfset'}?licence=MIT",
    ]
    adapters = [get_source(n) for n in source_names()]
    adapters += [open_source(s, tmp_path / "work") for s in specs]
    for adapter in adapters:
        assert isinstance(adapter, SourceAdapter), adapter
        assert adapter.licence and adapter.mask_kind, adapter
        assert not hasattr(adapter, "license"), "one spelling: licence"

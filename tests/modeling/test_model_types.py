"""The model-type registry: torch-free, one name list for the CLI, the deprecated alias."""

import logging
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hqseg.cli import main
from hqseg.modeling.model_types import (
    CLI_CHOICES,
    MODEL_TYPES,
    line_of,
    resolve_model_type,
    types_of_line,
)


def test_registry_imports_without_torch():
    code = "import sys, hqseg.modeling.model_types; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lines_and_names():
    assert types_of_line("vit") == ("vit_b", "vit_l", "vit_h", "test_vit")
    assert types_of_line("tinyvit") == ("vit_tiny", "test_tinyvit")
    assert line_of("sam2.1_hiera_b+") == "sam2"
    assert MODEL_TYPES["vit_tiny"].hq_checkpoint == "sam_hq_vit_tiny.pth"
    assert MODEL_TYPES["vit_tiny"].base_checkpoint == "mobile_sam.pt"
    assert MODEL_TYPES["vit_tiny"].baseline == "MobileSAM"


def test_tiny_is_a_deprecated_alias(caplog):
    with caplog.at_level(logging.WARNING), pytest.warns(DeprecationWarning, match="test_vit"):
        assert resolve_model_type("tiny") == "test_vit"
    assert "deprecated" in caplog.text
    with pytest.raises(ValueError, match="unknown model type 'vit_x'.*vit_tiny"):
        resolve_model_type("vit_x")


@pytest.mark.parametrize("command", [["train"], ["eval", "hq"], ["eval", "coco"], ["export"]])
def test_every_command_offers_the_same_choices(command):
    result = CliRunner().invoke(main, [*command, "--model-type", "vit_x", "x"])
    assert result.exit_code == 2
    assert "vit_x" in result.output and all(c in result.output for c in CLI_CHOICES)


def test_no_model_type_list_in_cli_sources():
    from pathlib import Path

    import hqseg.cli

    for path in Path(hqseg.cli.__file__).parent.glob("*.py"):
        assert '"vit_h"' not in path.read_text(), path

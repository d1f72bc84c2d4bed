"""Checkpoints cannot run code: they are read with ``weights_only=True``, and anything else is one
CosearchError naming the file (issue 34's checkpoint cases)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
import torch

from cosearch.core.errors import CosearchError
from cosearch.training import load_checkpoint


class Payload:
    """Unpickling this creates a marker file (what a hostile checkpoint would do instead)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mknod, (str(self.marker),))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "checkpoint.pt"
    torch.save({"candidate": {}, "model": {}, "epoch": 1, "extra": Payload(marker)}, path)
    with pytest.raises(CosearchError, match="refused: loading them could run code") as error:
        load_checkpoint(path)
    assert str(path) in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a checkpoint\n", os.urandom(4096)], ids=["empty", "text", "random"])
def test_damaged_files_are_one_error(tmp_path, content):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(content)
    with pytest.raises(CosearchError, match=re.escape(str(path))):
        load_checkpoint(path)


def test_a_truncated_checkpoint_and_a_foreign_one_are_refused(tmp_path):
    buffer = io.BytesIO()
    state = {"candidate": {"network": {"arch": "vgg16"}, "timesteps": 2}, "model": {"w": torch.ones(3)}, "epoch": 2,
             "history": [{"loss": 1.5}], "settings": {"seed": 0, "test_size": None}}
    torch.save(state, buffer)
    whole = tmp_path / "whole.pt"
    whole.write_bytes(buffer.getvalue())
    loaded = load_checkpoint(whole)
    assert loaded["epoch"] == 2 and torch.equal(loaded["model"]["w"], torch.ones(3)) and loaded["settings"]["test_size"] is None
    cut = tmp_path / "cut.pt"
    cut.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(CosearchError, match=r"cut\.pt"):
        load_checkpoint(cut)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.ones(2)}, foreign)
    with pytest.raises(CosearchError, match="missing candidate, model, epoch"):
        load_checkpoint(foreign)

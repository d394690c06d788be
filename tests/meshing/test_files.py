"""The atomic writers: files get the mode a plain open() gives (mkstemp's 0600 is not left behind),
the process umask is untouched, and a failure leaves nothing."""

import os

import numpy as np
import pytest

from eval.meshio import atomic_output
from meshing._files import atomic_path, file_mode, probe_writable
from neuhead.io import write_png


def _umask() -> int:
    m = os.umask(0o022)
    os.umask(m)
    return m


def test_every_writer_gives_the_open_mode(tmp_path):
    old = os.umask(0o027)
    try:
        expect = 0o666 & ~0o027
        assert file_mode() == expect and _umask() == 0o027
        write_png(tmp_path / "a.png", np.zeros((4, 4, 3)))
        with atomic_path(tmp_path / "b.txt") as t:
            t.write_text("x")
        with atomic_output(tmp_path / "c.json") as t:
            t.write_text("{}")
        for name in ("a.png", "b.txt", "c.json"):
            assert (tmp_path / name).stat().st_mode & 0o777 == expect, name
    finally:
        os.umask(old)


def test_a_failed_block_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "d.txt") as t:
            t.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    assert probe_writable(tmp_path) is None
    assert probe_writable(tmp_path / "missing") is not None

"""``neuhead synth``: both formats load back, scenes are reproducible, bad options are one line."""

import numpy as np
import pytest
from PIL import Image

from neuhead.cli import main
from neuhead.data.h3ds import load_h3ds_config, load_h3ds_scene
from neuhead.data.neus import load_neus
from neuhead.data.synthetic import synthesize
from neuhead.data.synthetic.dataset import scene_seed


def test_synth_h3ds_and_neus(tmp_path):
    out = tmp_path / "h"
    assert main(["synth", "--n", "2", "--views", "3", "--res", "32", "--format", "h3ds", "--rig", "360",
                 "--seed", "7", "--out", str(out), "--no-progress"]) == 0
    cfg = load_h3ds_config(out)
    assert sorted(cfg.scenes) == ["head_0000", "head_0001"]
    s = load_h3ds_scene(out, "head_0001", views="1")
    assert len(s) == 1 and s.images.shape == (1, 32, 32, 3) and set(s.landmarks) >= {"nose_tip", "left_eye"}
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.size == (256, 128)

    out2 = tmp_path / "n"
    assert main(["synth", "--n", "1", "--views", "3", "--res", "32", "--format", "neus", "--rig", "360",
                 "--seed", "7", "--out", str(out2), "--no-progress", "--workers", "2"]) == 0
    neus = load_neus(out2 / "head_0000")
    ref = synthesize(scene_seed(7, 0), 3, 32, "360").scene
    assert np.allclose(neus.cameras.c2w, ref.cameras.c2w, atol=1e-6)
    assert np.allclose(neus.to_world, ref.to_world)
    assert np.abs(neus.images - ref.images).max() <= 1 / 255 + 1e-6  # 8-bit PNG
    # the same scene from the h3ds run (same seed, same index) has the same cameras
    h = load_h3ds_scene(out, "head_0000")
    assert np.allclose(h.cameras.c2w, ref.cameras.c2w, atol=1e-6)


def test_synth_bad_options(tmp_path, capsys):
    assert main(["synth", "--n", "0", "--out", str(tmp_path), "--no-progress"]) == 2
    assert main(["synth", "--res", "4", "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("neuhead synth: error:") for line in err)
    from neuhead.data.synthetic.dataset import DatasetConfig, check_config
    from neuhead.errors import InputError

    with pytest.raises(InputError, match="--lighting studio"):
        check_config(DatasetConfig(lighting="studio"))


def test_geometry_of_synth_folders_is_the_same_in_worker_processes(tmp_path):
    from neuhead.commands.train import find_scenes, load_geometry, load_scenes

    assert main(["synth", "--n", "2", "--views", "2", "--res", "32", "--format", "neus", "--rig", "360",
                 "--seed", "3", "--out", str(tmp_path), "--no-progress"]) == 0
    dirs = find_scenes(tmp_path)
    scenes = load_scenes(dirs, None)
    serial, parallel = load_geometry(dirs, scenes), load_geometry(dirs, scenes, workers=2)
    assert len(parallel) == 2
    for a, b in zip(serial, parallel):
        assert np.array_equal(a.points, b.points) and np.array_equal(a.sdf, b.sdf)
        assert np.array_equal(a.color, b.color) and a.mm_per_unit == b.mm_per_unit

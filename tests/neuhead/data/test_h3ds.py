"""H3DS format: writer -> reader round trip, the toolbox's config layout, clear errors on bad input."""

import shutil

import numpy as np
import pytest

from neuhead.data.h3ds import (load_h3ds_config, load_h3ds_landmarks, load_h3ds_mesh, load_h3ds_region,
                               load_h3ds_scene, write_h3ds_config, write_h3ds_scene)
from neuhead.data.synthetic import make_head_scene
from neuhead.errors import InputError

TOOLBOX_CONFIG = """version = 0.4
file_id = "x"

[scenes]
    [scenes.1b2a8613401e42a8]
    tags = ['h3d-net','sira++']
    views = 4
        [scenes.1b2a8613401e42a8.default_views_configs]
        1 = [0]
        3 = [0, 1, 2]
        4 = [1, 1, 2, 3]
"""


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("h3ds")
    scene, gt = make_head_scene(5, n_views=4, res=64, rig="portrait")
    info = write_h3ds_scene(root, "synth_0005", scene, gt.vertices, gt.faces, gt.landmark_ids, gt.regions)
    write_h3ds_config(root, [info])
    return root, scene, gt


def test_round_trip(written):
    root, scene, gt = written
    cfg = load_h3ds_config(root)
    assert list(cfg.scenes) == ["synth_0005"] and cfg.scenes["synth_0005"].views == 4
    vc = cfg.scenes["synth_0005"].views_configs
    assert vc["1"] == [0] and vc["3"][0] == 0 and len(set(vc["3"])) == 3
    # left = the subject's left (+x in the canonical frame), right = -x
    c = scene.cameras.centers
    assert c[vc["3"][1], 0] > 0.2 and c[vc["3"][2], 0] < -0.2
    back = load_h3ds_scene(root, "synth_0005")
    assert np.allclose(back.to_world, scene.to_world) and back.units == "mm"
    assert np.allclose(back.cameras.K, scene.cameras.K, atol=1e-6)
    assert np.allclose(back.cameras.c2w, scene.cameras.c2w, atol=1e-6)
    assert np.abs(back.images - scene.images).mean() < 0.02  # JPEG
    assert np.array_equal(back.masks > 0.5, scene.masks > 0.5)
    for k, v in gt.landmarks.items():
        assert np.abs(back.landmarks[k] - v).max() < 1e-4  # mm, OBJ with 5 decimals
    mesh = load_h3ds_mesh(root, "synth_0005")
    assert np.abs(mesh.vertices - gt.vertices).max() < 1e-4 and np.array_equal(mesh.faces, gt.faces)
    assert load_h3ds_landmarks(root, "synth_0005") == gt.landmark_ids
    for r in ("face", "face_sphere", "nose"):
        assert np.array_equal(load_h3ds_region(root, "synth_0005", r), gt.regions[r])
    three = load_h3ds_scene(root, "synth_0005", views="3")
    assert three.names == [f"img_{i:04d}" for i in vc["3"]]
    canon = load_h3ds_scene(root, "synth_0005", canonical=True)  # already canonical: same frame
    assert np.allclose(canon.to_world, scene.to_world, atol=1e-4)  # landmarks rounded to 1e-5 mm in the OBJ


def test_reads_toolbox_config_and_folder_without_config(written, tmp_path):
    root, scene, _ = written
    shutil.copytree(root / "synth_0005", tmp_path / "1b2a8613401e42a8")
    (tmp_path / "config.toml").write_text(TOOLBOX_CONFIG)
    cfg = load_h3ds_config(tmp_path)
    assert cfg.version == "0.4" and cfg.scenes["1b2a8613401e42a8"].tags == ("h3d-net", "sira++")
    s = load_h3ds_scene(tmp_path, "1b2a8613401e42a8", views="4")  # repeated view kept once
    assert s.names == ["img_0001", "img_0002", "img_0003"]
    (tmp_path / "config.toml").unlink()
    s = load_h3ds_scene(tmp_path, "1b2a8613401e42a8", views=[3, 0])
    assert s.names == ["img_0003", "img_0000"] and np.allclose(s.cameras.c2w[1], scene.cameras.c2w[0], atol=1e-6)


def _one_line_error(fn, *words):
    with pytest.raises(InputError) as e:
        fn()
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg
    return msg


def test_bad_input_gives_one_clear_line(written, tmp_path):
    root, _, _ = written
    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    _one_line_error(lambda: load_h3ds_scene(bad, "nobody"), "nobody")
    (bad / "config.toml").write_text((root / "config.toml").read_text() + '\n[scenes."ghost"]\nviews = 3\n')
    _one_line_error(lambda: load_h3ds_scene(bad, "ghost"), "ghost", "missing")
    (bad / "synth_0005" / "cameras.npz").unlink()
    _one_line_error(lambda: load_h3ds_scene(bad, "synth_0005"), "cameras.npz", "missing")
    (bad / "synth_0005" / "full_head.obj").write_text("this is not a mesh\n")
    _one_line_error(lambda: load_h3ds_mesh(bad, "synth_0005"), "full_head.obj", "mesh")
    (bad / "config.toml").write_text("[scenes\n")
    _one_line_error(lambda: load_h3ds_config(bad), "config.toml", "TOML")
    _one_line_error(lambda: load_h3ds_scene(root, "synth_0005", views="16"), "16")

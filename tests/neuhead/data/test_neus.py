import numpy as np
import pytest
from PIL import Image

from neuhead.data.neus import load_neus, write_neus
from neuhead.errors import InputError


def test_writer_loader_round_trip(sample_scene, tmp_path):
    write_neus(sample_scene, tmp_path / "case")
    back = load_neus(tmp_path / "case")
    assert back.units == "mm" and len(back) == len(sample_scene)
    np.testing.assert_allclose(back.cameras.K, sample_scene.cameras.K, atol=1e-6)
    np.testing.assert_allclose(back.cameras.c2w, sample_scene.cameras.c2w, atol=1e-6)
    np.testing.assert_allclose(back.to_world, sample_scene.to_world)
    assert np.abs(back.images - sample_scene.images).max() <= 1 / 255 + 1e-6
    np.testing.assert_array_equal(back.masks, sample_scene.masks)
    sub = load_neus(tmp_path / "case", views=[3, 0])
    np.testing.assert_allclose(sub.cameras.c2w, sample_scene.cameras.c2w[[3, 0]], atol=1e-6)
    assert sub.names == ["003", "000"]


def _case(sample_scene, tmp_path):
    return write_neus(sample_scene.subset([0, 1, 2]), tmp_path / "case")


def test_missing_cameras(sample_scene, tmp_path):
    case = _case(sample_scene, tmp_path)
    (case / "cameras_sphere.npz").unlink()
    with pytest.raises(InputError, match="cameras_sphere.npz"):
        load_neus(case)


def test_mask_count_and_size_mismatch(sample_scene, tmp_path):
    case = _case(sample_scene, tmp_path)
    (case / "mask" / "002.png").unlink()
    with pytest.raises(InputError, match="2 masks for 3 images"):
        load_neus(case)
    Image.new("L", (10, 10)).save(case / "mask" / "002.png")
    with pytest.raises(InputError, match="002.png.*does not match"):
        load_neus(case)


def test_unreadable_image_and_singular_camera(sample_scene, tmp_path):
    case = _case(sample_scene, tmp_path)
    (case / "image" / "001.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="001.png: cannot read image"):
        load_neus(case)
    case2 = write_neus(sample_scene.subset([0, 1]), tmp_path / "case2")
    cams = dict(np.load(case2 / "cameras_sphere.npz"))
    cams["world_mat_1"] = np.zeros((4, 4))
    np.savez(case2 / "cameras_sphere.npz", **cams)
    with pytest.raises(InputError, match="camera 1 is not valid"):
        load_neus(case2)

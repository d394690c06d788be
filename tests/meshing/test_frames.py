import numpy as np
import pytest

from meshing.errors import ExportError
from meshing.frames import conversion, similarity_scale


def test_identity_and_units():
    c = conversion("mm", "m")
    np.testing.assert_allclose(np.asarray(c.matrix), np.diag([1e-3, 1e-3, 1e-3, 1]))
    assert conversion("cm", "mm").scale == pytest.approx(10.0)


def test_opencv_world_to_gltf():
    # OpenCV-style world: y down, the face looking along -z  ->  glTF +y up, +z front
    m = np.asarray(conversion("m", "m", "-y", "-z").matrix)[:3, :3]
    np.testing.assert_allclose(m @ [0, -1, 0], [0, 1, 0])
    np.testing.assert_allclose(m @ [0, 0, -1], [0, 0, 1])
    assert np.linalg.det(m) == pytest.approx(1.0)


def test_y_up_to_z_up():
    m = np.asarray(conversion("m", "m", "+y", "+z", "+z", "-y").matrix)[:3, :3]
    np.testing.assert_allclose(m @ [0, 1, 0], [0, 0, 1])
    np.testing.assert_allclose(m @ [0, 0, 1], [0, -1, 0])
    assert np.linalg.det(m) == pytest.approx(1.0)


def test_bad_options():
    with pytest.raises(ExportError, match="unknown units"):
        conversion("mm", "inch")
    with pytest.raises(ExportError, match="perpendicular"):
        conversion("mm", "m", "+y", "-y")
    with pytest.raises(ExportError, match="unknown axis"):
        conversion("mm", "m", "up")
    with pytest.raises(ExportError, match="similarity"):
        similarity_scale(np.diag([1.0, 2.0, 1.0, 1.0]))
    assert similarity_scale(np.diag([3.0, 3.0, -3.0, 1.0])) == pytest.approx(3.0)

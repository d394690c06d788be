import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from meshing import shapes
from meshing.extract import MeshConfig, extract_mesh, extract_surface, query_colors
from meshing.errors import MeshingError
from meshing.grid import GridConfig


def _similarity(scale, t, seed=0, mirror=False):
    T = np.eye(4)
    T[:3, :3] = scale * Rotation.random(random_state=seed).as_matrix() @ np.diag([1, 1, -1 if mirror else 1])
    T[:3, 3] = t
    return T


@pytest.mark.parametrize("mirror", [False, True])
def test_mesh_in_world_frame_with_colours(mirror):
    T = _similarity(110.0, [20.0, -35.0, 600.0], mirror=mirror)
    cfg = MeshConfig(grid=GridConfig(resolution=48))
    m = extract_mesh(shapes.sphere_sdf(0.5), shapes.position_color, T, cfg)
    r = np.linalg.norm(m.vertices - T[:3, 3], axis=1)
    assert np.abs(r - 55.0).max() < 110 * cfg.grid.voxel
    assert m.volume > 0  # still outward after a mirroring to_world
    unit = (m.vertices - T[:3, 3]) @ np.linalg.inv(T[:3, :3]).T
    want = (shapes.position_color(unit) * 255 + 0.5).astype(np.uint8)
    assert np.abs(m.visual.vertex_colors[:, :3].astype(int) - want).max() <= 1


def test_extract_surface_drops_floaters_and_dense_agrees():
    two = lambda p: np.minimum(shapes.sphere_sdf(0.4, (-0.4, 0, 0))(p), shapes.sphere_sdf(0.1, (0.7, 0, 0))(p))
    cfg = MeshConfig(grid=GridConfig(resolution=48))
    s = extract_surface(two, cfg)
    assert np.abs(np.linalg.norm(s.vertices - [-0.4, 0, 0], axis=1) - 0.4).max() < cfg.grid.voxel
    d = extract_surface(two, MeshConfig(grid=cfg.grid, hierarchical=False))
    assert len(d.faces) == len(s.faces) and d.evaluations > s.evaluations


def test_color_fn_checks():
    with pytest.raises(MeshingError, match="shape"):
        query_colors(lambda p, n: np.zeros((len(p), 4)), np.zeros((3, 3)), np.zeros((3, 3)))

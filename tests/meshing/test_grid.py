import numpy as np
import pytest

from meshing import shapes
from meshing.errors import EmptyMeshError, MeshingError
from meshing.grid import (
    GridConfig,
    HierarchyConfig,
    dense_marching_cubes,
    dense_sdf_grid,
    edge_keys,
    hierarchical_marching_cubes,
)


def _canonical(mesh, grid):
    """Vertices as grid-edge keys and faces as sorted key triples: comparable across both paths."""
    keys = edge_keys((mesh.vertices + grid.bound) / grid.voxel, grid.resolution + 1)
    f = np.sort(keys[mesh.faces], axis=1)
    return np.sort(keys), f[np.lexsort(f.T[::-1])]


def _volume(v, f):
    return np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6.0


def test_dense_grid_matches_points():
    grid = GridConfig(resolution=8, chunk=50)  # several slabs
    vals = dense_sdf_grid(lambda p: p[:, 0] + 10 * p[:, 1] + 100 * p[:, 2], grid)
    x = np.linspace(-grid.bound, grid.bound, 9)
    i, j, k = 2, 5, 7
    assert vals.shape == (9, 9, 9)
    assert vals[i, j, k] == pytest.approx(x[i] + 10 * x[j] + 100 * x[k], abs=1e-4)


def test_sphere_vertices_within_a_voxel_and_faces_outward():
    grid = GridConfig(resolution=64)
    c = np.array([0.1, -0.05, 0.2])
    m = dense_marching_cubes(shapes.sphere_sdf(0.5, c), grid)
    r = np.linalg.norm(m.vertices - c, axis=1)
    assert np.abs(r - 0.5).max() < grid.voxel
    # outward faces: positive signed volume close to the ball's
    assert _volume(m.vertices, m.faces) == pytest.approx(4 / 3 * np.pi * 0.5**3, rel=0.01)
    # every face normal points away from the centre
    tri = m.vertices[m.faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    assert (np.einsum("ij,ij->i", n, tri.mean(1) - c) > 0).all()


@pytest.mark.parametrize("shape", ["sphere", "torus"])
@pytest.mark.parametrize("resolution", [64, 96])
def test_hierarchical_equals_dense(shape, resolution):
    fn = shapes.sphere_sdf(0.45, (0.13, 0.0, -0.07)) if shape == "sphere" else shapes.torus_sdf(0.5, 0.2)
    grid = GridConfig(resolution=resolution)
    d = dense_marching_cubes(fn, grid)
    h = hierarchical_marching_cubes(fn, grid, HierarchyConfig(coarse_resolution=16, block=16))
    kd, fd = _canonical(d, grid)
    kh, fh = _canonical(h, grid)
    np.testing.assert_array_equal(kd, kh)
    np.testing.assert_array_equal(fd, fh)
    # and the vertex positions agree (both interpolate the same two SDF values on each edge)
    od, oh = np.argsort(edge_keys((d.vertices + 1.01) / grid.voxel, resolution + 1)), np.argsort(
        edge_keys((h.vertices + 1.01) / grid.voxel, resolution + 1))
    np.testing.assert_allclose(d.vertices[od], h.vertices[oh], atol=1e-3 * grid.voxel)
    assert h.evaluations < d.evaluations / 2


def test_hierarchical_with_a_steeper_field_and_matching_safety():
    base = shapes.torus_sdf(0.5, 0.2)
    steep = lambda p: 1.8 * base(p)  # 1.8-Lipschitz: pruning must use the safety factor
    grid = GridConfig(resolution=64)
    d = dense_marching_cubes(steep, grid)
    h = hierarchical_marching_cubes(steep, grid, HierarchyConfig(coarse_resolution=8, lipschitz=2.0))
    for a, b in zip(_canonical(d, grid), _canonical(h, grid)):
        np.testing.assert_array_equal(a, b)


def test_hierarchical_saves_most_evaluations_at_128():
    grid = GridConfig(resolution=128)
    h = hierarchical_marching_cubes(shapes.sphere_sdf(0.5), grid)
    assert h.evaluations < 0.15 * 129**3


@pytest.mark.parametrize("fn", [lambda p: np.linalg.norm(p, axis=1) + 0.1, lambda p: -np.ones(len(p))])
def test_no_zero_crossing_is_a_clear_error(fn):
    grid = GridConfig(resolution=16)
    for extract in (dense_marching_cubes, hierarchical_marching_cubes):
        with pytest.raises(EmptyMeshError, match="never crosses zero"):
            extract(fn, grid)


def test_bad_sdf_output_shape_is_a_clear_error():
    with pytest.raises(MeshingError, match="expected"):
        dense_marching_cubes(lambda p: np.zeros((len(p), 2)), GridConfig(resolution=8))
    with pytest.raises(MeshingError, match="non-finite"):
        hierarchical_marching_cubes(lambda p: np.full(len(p), np.nan), GridConfig(resolution=8))


@pytest.mark.parametrize("resolution", [64, 96, 256, 512])
def test_both_paths_sample_the_same_float32_points(resolution):
    # the hierarchical path computes coordinates from indices; they must equal the dense linspace bit for bit,
    # or SDF values within an ulp of zero can change sign between the paths
    from meshing.grid import grid_coords

    g = GridConfig(resolution=resolution)
    np.testing.assert_array_equal(grid_coords(np.arange(resolution + 1), g),
                                  np.linspace(-g.bound, g.bound, resolution + 1, dtype=np.float32))

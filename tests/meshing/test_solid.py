"""Solid interiors: flood fill vs a brute-force BFS, and hollow analytic fields extracting as one outer surface."""

import numpy as np
import pytest

from meshing.extract import MeshConfig, extract_mesh, extract_surface
from meshing.grid import GridConfig, HierarchyConfig, dense_marching_cubes, hierarchical_marching_cubes
from meshing.sdf_export import write_sdf_grid
from meshing.solid import outside_mask, outside_mask_bruteforce, ray_crossings, resign_interior

R_OUT, R_IN = 0.6, 0.45  # the shell: negative for R_IN < |x| < R_OUT, a positive hollow inside


def shell_sdf(p):
    """Exact SDF of a hollow ball: positive in the enclosed hollow |x| < R_IN (what the fitted heads did)."""
    r = np.linalg.norm(p, axis=1)
    return np.maximum(r - R_OUT, R_IN - r).astype(np.float32)


def shell_neck_sdf(p):
    """The shell plus a solid neck (cylinder r < 0.2 about y, from the centre down and out of the grid's
    bottom face): the outer surface is open at the bottom, the hollow stays enclosed (sealed by the neck)."""
    q = np.sqrt(p[:, 0] ** 2 + p[:, 2] ** 2)
    cyl = np.maximum(q - 0.2, p[:, 1] + 0.1)  # infinite downwards, capped at y = -0.1
    return np.minimum(shell_sdf(p), cyl).astype(np.float32)


def open_shell_sdf(p):
    """The hollow ball OPEN AT THE BOTTOM: a hole of radius 0.06 through the shell around -y (the fitted heads'
    unseen crown looked like this). Plain flood fill reaches the hollow through the hole."""
    q = np.sqrt(p[:, 0] ** 2 + p[:, 2] ** 2)
    hole = np.where(p[:, 1] < 0, 0.06 - q, -1.0)  # positive inside the drill
    return np.maximum(shell_sdf(p), hole).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flood_fill_matches_bruteforce(seed):
    rng = np.random.default_rng(seed)
    positive = rng.random((9, 10, 11)) < 0.33  # near the site-percolation threshold (0.31): many components
    ref = outside_mask_bruteforce(positive)
    np.testing.assert_array_equal(outside_mask(positive), ref)
    assert ref.any() and (positive & ~ref).any()  # both kinds occur


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("block", [(slice(5, 14), slice(4, 12), slice(6, 15)), (slice(0, 9), slice(3, 17), slice(2, 20))])
def test_flood_fill_labels_only_the_box_around_the_solid(seed, block):
    """A random solid in part of a larger positive grid (inside it, or touching the grid boundary): the cropped
    labelling agrees with the brute force over the whole grid."""
    rng = np.random.default_rng(seed)
    positive = np.ones((18, 20, 22), bool)
    positive[block] = rng.random(positive[block].shape) < 0.33
    ref = outside_mask_bruteforce(positive)
    np.testing.assert_array_equal(outside_mask(positive), ref)
    assert (positive & ~ref).any()  # enclosed positive points occur
    assert outside_mask(np.ones((4, 5, 6), bool)).all()


def test_flood_fill_six_connectivity():
    pos = np.zeros((7, 7, 7), bool)
    pos[[0, -1]] = pos[:, [0, -1]] = pos[:, :, [0, -1]] = True  # the boundary layer is outside
    pos[1, 1, 1] = pos[2, 2, 2] = pos[3, 3, 3] = True  # a diagonal chain inwards
    out = outside_mask(pos)
    assert out[1, 1, 1] and not out[2, 2, 2] and not out[3, 3, 3]  # diagonal contact does not leak
    pos[2, 1, 1] = pos[2, 2, 1] = True  # a 6-connected path (1,1,1) -> (2,2,2)
    out = outside_mask(pos)
    assert out[2, 2, 2] and not out[3, 3, 3]
    np.testing.assert_array_equal(out, outside_mask_bruteforce(pos))


def test_resign_interior_grid():
    g = GridConfig(resolution=32)
    from meshing.grid import dense_sdf_grid

    vals = dense_sdf_grid(shell_sdf, g)
    fixed, res = resign_interior(vals)
    centre = 16
    assert vals[centre, centre, centre] > 0 and fixed[centre, centre, centre] < 0
    assert res.voxels == int((np.linalg.norm(np.stack(np.meshgrid(*[np.linspace(-g.bound, g.bound, 33)] * 3,
                                                                   indexing="ij"), -1), axis=-1) < R_IN).sum())
    assert np.all(fixed[vals <= 0] == vals[vals <= 0])  # nothing else changes
    # with the spacing: minus the distance to the outside, ≈ R_OUT at the centre
    fixed2, _ = resign_interior(vals, g.voxel)
    assert fixed2[centre, centre, centre] == pytest.approx(-R_OUT, abs=1.5 * g.voxel)


def _ray_parity(mesh, origin, direction=(0.013, 1.0, 0.021)) -> int:
    """Number of surface crossings of a ray from ``origin`` (odd = inside); directions off the grid axes
    so that the ray does not run through marching-cubes vertices and edges."""
    return ray_crossings(mesh.vertices, mesh.faces, origin, direction)


@pytest.mark.parametrize("hierarchical", [False, True])
def test_hollow_shell_extracts_as_a_solid_ball(hierarchical):
    cfg = MeshConfig(grid=GridConfig(resolution=64), hierarchical=hierarchical, largest_component=False,
                     hierarchy=HierarchyConfig(coarse_resolution=8, block=16))
    hollow = extract_mesh(shell_sdf, config=MeshConfig(grid=cfg.grid, hierarchical=hierarchical, solid=False,
                                                     largest_component=False, hierarchy=cfg.hierarchy))
    assert len(hollow.split(only_watertight=False)) == 2  # the bug: an outer and an inner wall
    m = extract_mesh(shell_sdf, config=cfg)
    assert len(m.split(only_watertight=False)) == 1
    assert m.is_watertight and m.volume > 0
    assert m.volume == pytest.approx(4 / 3 * np.pi * R_OUT**3, rel=0.02)
    r = np.linalg.norm(m.vertices, axis=1)
    assert np.abs(r - R_OUT).max() < cfg.grid.voxel  # no inner wall left
    assert _ray_parity(m, [0.0, 0.0, 0.0], (0.3, 0.5, 0.8)) == 1
    assert _ray_parity(m, [0.0, 0.0, 0.0]) % 2 == 1
    assert m.metadata["resigned_voxels"] > 0
    assert 0 < m.metadata["resigned_fraction"] < 1


def test_hollow_shell_with_open_neck_dense_equals_hierarchical():
    grid = GridConfig(resolution=64)
    d = dense_marching_cubes(shell_neck_sdf, grid)
    h = hierarchical_marching_cubes(shell_neck_sdf, grid, HierarchyConfig(coarse_resolution=8, block=16))
    assert d.resigned.voxels > 0
    assert h.resigned == d.resigned and h.evaluations < d.evaluations // 2
    from tests.meshing.test_grid import _canonical

    for a, b in zip(_canonical(d, grid), _canonical(h, grid)):
        np.testing.assert_array_equal(a, b)
    import trimesh

    m = trimesh.Trimesh(d.vertices, d.faces, process=True)
    assert len(m.split(only_watertight=False)) == 1
    assert np.linalg.norm(m.vertices, axis=1).min() > 0.2 - grid.voxel  # only the neck comes close to the axis
    r = np.linalg.norm(m.vertices, axis=1)
    above = m.vertices[:, 1] > 0.0
    assert np.abs(r[above] - R_OUT).max() < grid.voxel  # upper half: only the outer wall
    # open at the bottom (the neck leaves the grid), centre inside by ray parity upwards and sideways
    assert _ray_parity(m, [0.0, 0.0, 0.0]) == 1
    assert _ray_parity(m, [0.0, 0.0, 0.0], (1.0, 0.017, 0.029)) == 1


def test_solid_false_keeps_the_hollow_and_sdf_grid_is_negative_at_the_centre(tmp_path):
    s = extract_surface(shell_sdf, MeshConfig(grid=GridConfig(resolution=32), solid=False, largest_component=False))
    assert s.resigned_voxels == 0
    to_world = np.diag([100.0, 100.0, 100.0, 1.0])
    to_world[:3, 3] = (5.0, -3.0, 40.0)
    info = write_sdf_grid(shell_sdf, to_world, tmp_path / "g.npz", samples=33, world_units="mm")
    assert info.resigned_voxels > 0 and 0 < info.resigned_fraction < 1
    with np.load(tmp_path / "g.npz") as z:
        vals = z["values"]
        assert int(z["resigned_voxels"]) == info.resigned_voxels
    assert vals[16, 16, 16] < 0  # the world centre (the unit-frame origin)
    assert vals[16, 16, 16] == pytest.approx(-R_OUT * 100.0, abs=1.5 * info.voxel_size)
    assert vals[0, 0, 0] > 0
    raw = write_sdf_grid(shell_sdf, to_world, tmp_path / "raw.npz", samples=33, world_units="mm", solid=False)
    assert raw.resigned_voxels == 0
    with np.load(tmp_path / "raw.npz") as z:
        assert z["values"][16, 16, 16] > 0


def test_export_reports_the_resigned_share_and_the_network_says_so(tmp_path):
    import json

    import torch

    from meshing.export import export_asset

    class Shell(torch.nn.Module):
        def forward(self, p):
            r = p.norm(dim=-1)
            return torch.maximum(r - R_OUT, R_IN - r)

    rep = export_asset(shell_sdf, None, np.eye(4), tmp_path / "a.ply", world_units="m", resolution=32,
                       faces=None, sdf_grid=17, sdf_net="torchscript", sdf_module=Shell())
    assert rep.resigned_voxels > 0 and 0 < rep.resigned_fraction < 1
    assert rep.as_dict()["resigned_voxels"] == rep.resigned_voxels
    assert any("hollow" in n for n in rep.notes)
    extra = {"neuhead.json": ""}
    torch.jit.load(str(tmp_path / "a_sdf.pt"), _extra_files=extra)
    meta = json.loads(extra["neuhead.json"])
    assert "NOT corrected" in meta["interior"] and "a_sdf.npz" in meta["interior"]
    solid = export_asset(lambda p: np.linalg.norm(p, axis=1) - 0.5, None, np.eye(4), tmp_path / "b.ply",
                         world_units="m", resolution=32, faces=None)
    assert solid.resigned_voxels == 0 and not any("hollow" in n for n in solid.notes)


@pytest.mark.parametrize("hierarchical", [False, True])
def test_shell_open_at_the_bottom_extracts_as_a_solid_with_seal(hierarchical):
    grid = GridConfig(resolution=64)
    h = HierarchyConfig(coarse_resolution=8, block=16)
    plain = extract_mesh(open_shell_sdf, config=MeshConfig(grid=grid, hierarchical=hierarchical, seal=0.0,
                                                           hierarchy=h))
    assert plain.metadata["resigned_voxels"] == 0  # the hole connects the hollow to the boundary
    assert _ray_parity(plain, [0.0, 0.0, 0.0]) % 2 == 0  # centre outside: the bug
    m = extract_mesh(open_shell_sdf, config=MeshConfig(grid=grid, hierarchical=hierarchical, seal=0.1, hierarchy=h))
    assert m.metadata["resigned_voxels"] > 0
    assert len(m.split(only_watertight=False)) == 1 and m.is_watertight
    for d in ((0.013, 1.0, 0.021), (1.0, 0.017, 0.029), (0.02, -1.0, 0.03)):  # the last one through the capped hole
        assert _ray_parity(m, [0.0, 0.0, 0.0], d) == 1
    assert m.volume == pytest.approx(4 / 3 * np.pi * R_OUT**3, rel=0.03)
    r = np.linalg.norm(m.vertices, axis=1)
    assert (r > R_IN + 2 * grid.voxel).mean() > 0.97  # the inner wall is gone (the cap sits in the hole)


@pytest.mark.parametrize("parts", [False, True])
def test_seal_dense_equals_hierarchical_and_leaves_solid_fields_alone(parts, monkeypatch):
    """``parts``: the hierarchy reads its cells in parts of 500 and the sign grid in slabs of 5 planes (at 512³
    they are 2^20 cells and 32 planes): the same answer."""
    import meshing.grid

    if parts:
        monkeypatch.setattr(meshing.grid, "_PART", 500)
        monkeypatch.setattr(meshing.grid, "_SLAB", 5)
    grid = GridConfig(resolution=64)
    h = HierarchyConfig(coarse_resolution=8, block=16)
    d = dense_marching_cubes(open_shell_sdf, grid, seal=0.1 / grid.voxel)
    hh = hierarchical_marching_cubes(open_shell_sdf, grid, h, seal=0.1 / grid.voxel)
    assert d.resigned.voxels > 0 and hh.resigned == d.resigned
    from tests.meshing.test_grid import _canonical

    for a, b in zip(_canonical(d, grid), _canonical(hh, grid)):
        np.testing.assert_array_equal(a, b)
    # a solid field (a torus: no hollow) is untouched by the seal
    from meshing import shapes

    t0 = dense_marching_cubes(shapes.torus_sdf(0.5, 0.2), grid, seal=0.0)
    t1 = dense_marching_cubes(shapes.torus_sdf(0.5, 0.2), grid, seal=0.15 / grid.voxel)
    assert t1.resigned.voxels == 0
    np.testing.assert_array_equal(t0.faces, t1.faces)


def test_sdf_grid_of_an_open_shell_is_negative_at_the_centre(tmp_path):
    info = write_sdf_grid(open_shell_sdf, np.diag([200.0, 200.0, 200.0, 1.0]), tmp_path / "g.npz", samples=65,
                          world_units="mm")
    assert info.resigned_voxels > 0
    with np.load(tmp_path / "g.npz") as z:
        assert z["values"][32, 32, 32] < -100.0  # ~ -R_OUT · 200 mm

import numpy as np
import trimesh

from meshing import cleanup, shapes
from meshing.grid import GridConfig, dense_marching_cubes


def _sphere(r=0.5, res=48, c=(0, 0, 0)):
    m = dense_marching_cubes(shapes.sphere_sdf(r, c), GridConfig(resolution=res))
    return m.vertices, m.faces


def test_largest_component_keeps_the_big_sphere():
    v1, f1 = _sphere(0.4, c=(-0.45, 0, 0))
    v2, f2 = _sphere(0.2, c=(0.6, 0, 0))
    v = np.concatenate([v1, v2])
    f = np.concatenate([f1, f2 + len(v1)])
    lv, lf = cleanup.largest_component(v, f)
    assert len(lf) == len(f1) and len(lv) == len(v1)
    assert np.abs(np.linalg.norm(lv - [-0.45, 0, 0], axis=1) - 0.4).max() < 0.05


def test_fill_holes_closes_a_cut_sphere_consistently():
    v, f = _sphere(0.5)
    cut = f[v[f].mean(1)[:, 1] < 0.3]  # remove a cap: one boundary loop
    v, cut = cleanup.remove_unreferenced(v, cut)
    assert len(cleanup.boundary_loops(cut)) == 1
    fv, ff = cleanup.fill_holes(v, cut)
    m = trimesh.Trimesh(fv, ff, process=False)
    assert m.is_watertight and m.is_winding_consistent
    # volume of the ball cut at y = 0.3 (cap of height 0.2 removed), capped flat
    h = 0.2
    expected = 4 / 3 * np.pi * 0.125 - np.pi * h * h * (3 * 0.5 - h) / 3
    assert m.volume == np.float64(m.volume) and abs(m.volume - expected) / expected < 0.02


def test_decimate_reaches_the_target_and_stays_on_the_surface():
    v, f = _sphere(0.5, res=64)
    dv, df = cleanup.decimate(v, f, 2000)
    assert 1800 <= len(df) <= 2000
    assert np.abs(np.linalg.norm(dv, axis=1) - 0.5).max() < 0.01
    assert trimesh.Trimesh(dv, df, process=False).is_watertight
    same = cleanup.decimate(v, f, len(f) + 10)
    assert same[1] is f

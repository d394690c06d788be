"""Geometry samples of synthetic heads: exact SDF sign (winding number), surface colour = the render."""

import numpy as np
import pytest

pytest.importorskip("open3d")

from neuhead.data.synthetic.geometry import GeometryConfig, HeadGeometry, GeometrySamples  # noqa: E402
from neuhead.data.synthetic.scene import synthesize  # noqa: E402

SMALL = GeometryConfig(n_surface=512, n_near=512, n_uniform=256)


def _winding(V, F, P):
    """Generalised winding number (Jacobson et al.) of points P (m, 3): the slow, exact inside test."""
    out = []
    for p in P:
        a, b, c = V[F[:, 0]] - p, V[F[:, 1]] - p, V[F[:, 2]] - p
        la, lb, lc = (np.linalg.norm(x, axis=1) for x in (a, b, c))
        det = np.einsum("ij,ij->i", a, np.cross(b, c))
        den = la * lb * lc + (a * b).sum(1) * lc + (b * c).sum(1) * la + (c * a).sum(1) * lb
        out.append(np.arctan2(det, den).sum() / (2 * np.pi))
    return np.array(out)


@pytest.fixture(scope="module")
def head():
    return HeadGeometry(7)


def test_sdf_sign_matches_winding_number(head):
    s = head.samples(SMALL, seed=7)
    assert s.points.shape == (768, 3) and s.sdf.shape == (768,)
    idx = np.random.default_rng(0).choice(len(s.points), 150, replace=False)
    w = _winding(head.head.vertices, head.model.faces, head.to_mm(s.points[idx].astype(np.float64)))
    assert np.all((w > 0.5) == (s.sdf[idx] < 0))
    assert np.allclose(head.winding(s.points[idx]), np.round(w), atol=1e-6)
    assert 0.2 < (s.sdf < 0).mean() < 0.6  # near-surface points fall on both sides
    assert head.sdf(np.zeros((1, 3)))[0] < -0.2  # the centre of the unit sphere is deep inside the head


def test_surface_samples_are_on_the_surface_with_unit_normals(head):
    s = head.samples(SMALL, seed=7)
    assert np.abs(head.sdf(s.surface)).max() * s.mm_per_unit < 1e-2
    assert np.allclose(np.linalg.norm(s.normals, axis=1), 1, atol=1e-4)
    # the normal points outwards: a step along it goes outside by about the step
    step = 1.0 / s.mm_per_unit  # 1 mm
    d = head.sdf(s.surface + step * s.normals) * s.mm_per_unit
    assert np.median(d) > 0.9 and (d > 0).mean() > 0.97
    assert np.linalg.norm(s.surface, axis=1).max() < 0.95 and 0.0 <= s.color.min() and s.color.max() <= 1.0


@pytest.mark.parametrize("seed, lighting", [(7, "train"), (2, "varied")])  # seed 2 is nearly flat when varied
def test_surface_colour_and_depth_match_the_renderer(seed, lighting):
    from neuhead.data.synthetic.scene import SynthConfig

    config = SynthConfig(lighting=lighting)
    sh = synthesize(seed, n_views=2, res=64, rig="360", config=config)
    g = HeadGeometry(seed, config=config)
    assert np.allclose(g.to_world, sh.scene.to_world)
    cams = sh.scene.world_cameras()
    for v in range(2):
        K, c2w = cams.K[v], cams.c2w[v]
        vv, uu = np.nonzero(sh.hit[v] & (sh.scene.masks[v] > 0.999))
        z = sh.depth[v][vv, uu]
        pc = np.stack([(uu + 0.5 - K[0, 2]) / K[0, 0] * z, (vv + 0.5 - K[1, 2]) / K[1, 1] * z, z], 1)
        pu = g.to_unit(pc @ c2w[:3, :3].T + c2w[:3, 3])
        assert np.abs(g.sdf(pu)).max() * g.mm_per_unit < 1e-2
        _, _, col = g.surface_at(pu)
        assert np.abs(col - sh.scene.images[v][vv, uu]).max() < 1e-3


def test_samples_deterministic_and_round_trip(tmp_path, head):
    a, b = head.samples(SMALL, seed=3), head.samples(SMALL, seed=3)
    assert np.array_equal(a.points, b.points) and np.array_equal(a.color, b.color)
    a.save(tmp_path / "g.npz")
    c = GeometrySamples.load(tmp_path / "g.npz")
    assert np.array_equal(a.sdf, c.sdf) and c.mm_per_unit == a.mm_per_unit
    assert a.light_sh.shape == (9, 3) and np.array_equal(a.light_sh, c.light_sh)


@pytest.mark.parametrize("seed", [7, 11])
def test_light_sh_is_the_renderers_light_in_the_unit_frame(seed):
    """The SH irradiance peaks where the renderer's light points (the scene's own to_world takes the peak to the
    world) and holds its ambient-to-lit range; the unlit look is E = 1."""
    from neuhead import sh
    from neuhead.data.synthetic.scene import SynthConfig

    g = HeadGeometry(seed)
    coeffs = g.light_sh()
    n = sh.sphere_directions(20000, seed=1)
    E = sh.basis(n) @ coeffs
    peak = g.to_world[:3, :3] @ n[np.argmax(E.mean(1))]
    assert np.degrees(np.arccos(peak @ g.app.light_dir / np.linalg.norm(peak))) < 8.0
    lo, hi = g.app.ambient, g.app.ambient + g.app.light * g.app.light_color.max()
    assert abs(E.mean(1).max() - hi) < 0.1 * hi and abs(np.percentile(E.mean(1), 5) - lo) < 0.1
    flat = HeadGeometry(seed, config=SynthConfig(unlit=True)).light_sh()
    assert np.allclose(flat, np.eye(9, 3)[:, :1].repeat(3, 1), atol=1e-9)


def test_scene_dir_geometry_regenerates_the_written_head(tmp_path):
    from neuhead.data.neus import load_neus
    from neuhead.data.synthetic.dataset import DatasetConfig, generate_dataset
    from neuhead.data.synthetic.geometry import head_geometry, scene_dir_geometry
    from neuhead.errors import InputError

    generate_dataset(tmp_path / "d", DatasetConfig(n_scenes=1, n_views=2, res=16, seed=3, rig="360"))
    folder = tmp_path / "d" / "head_0000"
    scene = load_neus(folder)
    g = scene_dir_geometry(folder, scene.to_world, SMALL)
    ref = head_geometry(3_000_000, SMALL)
    assert np.array_equal(g.sdf, ref.sdf) and np.array_equal(g.color, ref.color)
    # a varied-lighting data set: synth.json says so, and the colour regenerated is the one it rendered
    import json

    from neuhead.data.synthetic.scene import SynthConfig

    generate_dataset(tmp_path / "v", DatasetConfig(n_scenes=1, n_views=2, res=16, seed=3, rig="360", lighting="varied"))
    varied = scene_dir_geometry(tmp_path / "v" / "head_0000", scene.to_world, SMALL)
    ref_varied = head_geometry(3_000_000, SMALL, config=SynthConfig(lighting="varied"))
    assert np.array_equal(varied.sdf, ref.sdf) and np.array_equal(varied.color, ref_varied.color)
    assert np.abs(varied.color - ref.color).mean() > 0.01  # seed 3 000 000 gets a soft light when varied
    synth = tmp_path / "v" / "synth.json"
    written = json.loads(synth.read_text())
    written["config"]["lighting"] = "studio"
    synth.write_text(json.dumps(written))
    with pytest.raises(InputError, match="synth.json: unknown lighting 'studio'"):
        scene_dir_geometry(tmp_path / "v" / "head_0000", scene.to_world, SMALL)
    wrong = scene.to_world.copy()
    wrong[:3, 3] += 5.0
    with pytest.raises(InputError, match="scale_mat"):
        scene_dir_geometry(folder, wrong, SMALL)

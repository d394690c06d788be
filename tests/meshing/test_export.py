import numpy as np
import pytest
import trimesh
from PIL import Image

from meshing import shapes
from meshing.errors import EmptyMeshError, ExportError
from meshing.export import ExportOptions, export_asset, options_from_flat

# a torus of 220 mm-ish size, off the origin, in a millimetre world
T = np.diag([110.0, 110.0, 110.0, 1.0])
T[:3, 3] = [40.0, -25.0, 700.0]
SMALL = dict(resolution=48, faces=2000, texture=256)


def _unit(points_world):
    return (points_world - T[:3, 3]) / 110.0


def test_glb_obj_ply_round_trip(tmp_path):
    outs = [tmp_path / "head.glb", tmp_path / "head.obj", tmp_path / "head.ply"]
    rep = export_asset(shapes.torus_sdf(), shapes.position_color, T, outs, world_units="mm", units="mm", **SMALL)
    assert sorted(rep.files) == sorted(str(p) for p in outs + [tmp_path / "head.mtl", tmp_path / "head_texture.png"])
    assert rep.faces <= 2000 and rep.texture_size == 256
    assert rep.conversions[".glb"]["scale"] == pytest.approx(1e-3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left

    glb = trimesh.load(outs[0], force="mesh")
    assert len(glb.faces) == rep.faces
    # glTF: metres; the torus' outer radius 0.7 · 110 mm = 77 mm = 0.077 m around (0.04, -0.025, 0.7) m
    np.testing.assert_allclose(glb.bounds.mean(0), T[:3, 3] / 1000, atol=2e-3)
    assert glb.extents[0] == pytest.approx(0.154, abs=4e-3)
    assert isinstance(glb.visual, trimesh.visual.TextureVisuals)
    tex = np.asarray(glb.visual.material.baseColorTexture.convert("RGB"))
    assert tex.shape == (256, 256, 3)
    # the texture at each vertex's UV is the colour field there
    from meshing.texture import sample_texture

    c = sample_texture(tex, glb.visual.uv)
    assert np.abs(c - shapes.position_color(_unit(glb.vertices * 1000))).mean() < 0.02

    obj = trimesh.load(outs[1], force="mesh")
    assert len(obj.faces) == rep.faces
    assert obj.extents[0] == pytest.approx(154, abs=4)  # millimetres
    assert np.asarray(obj.visual.material.image.convert("RGB")).shape == (256, 256, 3)

    ply = trimesh.load(outs[2])
    assert len(ply.faces) == rep.faces and ply.is_watertight and ply.volume > 0
    want = shapes.position_color(_unit(ply.vertices))
    assert np.abs(ply.visual.vertex_colors[:, :3] / 255.0 - want).max() < 0.01


def test_two_obj_exports_in_one_folder_do_not_collide(tmp_path):
    blue = lambda p, n: np.tile([[0.1, 0.2, 0.9]], (len(p), 1))
    red = lambda p, n: np.tile([[0.9, 0.1, 0.1]], (len(p), 1))
    export_asset(shapes.sphere_sdf(0.5), blue, np.eye(4), tmp_path / "a.obj", **SMALL)
    export_asset(shapes.sphere_sdf(0.5), red, np.eye(4), tmp_path / "b.obj", **SMALL)
    assert {p.name for p in tmp_path.iterdir()} == {"a.obj", "a.mtl", "a_texture.png", "b.obj", "b.mtl", "b_texture.png"}
    a = trimesh.load(tmp_path / "a.obj", force="mesh")
    b = trimesh.load(tmp_path / "b.obj", force="mesh")
    assert np.asarray(a.visual.material.image.convert("RGB"))[..., 2].mean() > 200
    assert np.asarray(b.visual.material.image.convert("RGB"))[..., 0].mean() > 200


def test_axis_conversion_in_obj(tmp_path):
    # a sphere shifted along world -y ("up" in an OpenCV-like world) ends up at +z in a Z-up file
    sdf = shapes.sphere_sdf(0.3, (0.0, -0.5, 0.0))
    export_asset(sdf, None, np.eye(4), tmp_path / "s.ply", world_units="m", units="m", world_up="-y",
                 world_front="-z", file_up="+z", file_front="-y", resolution=32, faces=None)
    m = trimesh.load(tmp_path / "s.ply")
    np.testing.assert_allclose(m.bounds.mean(0), [0, 0, 0.5], atol=0.02)
    assert m.volume > 0


def test_bad_requests_write_nothing(tmp_path):
    sdf, col = shapes.sphere_sdf(0.5), shapes.position_color
    with pytest.raises(ExportError, match="unknown mesh format '.fbx'"):
        export_asset(sdf, col, np.eye(4), tmp_path / "head.fbx", **SMALL)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="cannot be written"):
        export_asset(sdf, col, np.eye(4), blocker / "head.glb", **SMALL)
    with pytest.raises(ExportError, match="unknown units"):
        export_asset(sdf, col, np.eye(4), tmp_path / "head.glb", units="ft", **SMALL)
    with pytest.raises(ExportError, match="no SDF module"):
        export_asset(sdf, col, np.eye(4), tmp_path / "head.glb", sdf_net="onnx", **SMALL)
    with pytest.raises(EmptyMeshError, match="never crosses zero"):
        export_asset(lambda p: np.ones(len(p)), col, np.eye(4), [tmp_path / "e.glb", tmp_path / "e.obj"], **SMALL)
    with pytest.raises(TypeError, match="unknown export option"):
        options_from_flat(ExportOptions(), resolutoin=3)
    assert {p.name for p in tmp_path.iterdir()} == {"file"}

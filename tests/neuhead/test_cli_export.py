"""`neuhead export` end to end on a real (freshly initialised, quick-preset) model: whatever its surface,
the exported vertices must lie on the model's zero level set, in the requested frame and units."""

import json

import numpy as np
import pytest
import trimesh

from neuhead.cli import main
from neuhead.config import SCRATCH_PRESETS, to_dict
from neuhead.model.multineus import MultiNeuS
from neuhead.train.checkpoint import save_checkpoint

T = np.diag([100.0, 100.0, 100.0, 1.0])
T[:3, 3] = [30.0, -20.0, 550.0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    cfg = SCRATCH_PRESETS["quick"]
    d = tmp_path_factory.mktemp("run")
    model = MultiNeuS(cfg.model, n_scenes=1)
    meta = {"config": to_dict(cfg), "n_scenes": 1, "scene_index": 0, "to_world": T.tolist(), "world_units": "mm"}
    save_checkpoint(d / "checkpoint.safetensors", model, meta)
    return d


def test_export_glb_obj_ply_sdf(run_dir, tmp_path):
    outs = [tmp_path / "head.glb", tmp_path / "head.obj", tmp_path / "head.ply"]
    rc = main(["export", "--out", str(outs[0]), "--out", str(outs[1]), str(run_dir), "--out", str(outs[2]), "--faces", "3000", "--texture", "256",
               "--resolution", "64", "--units", "mm", "--sdf-grid", "24", "--sdf-net", "torchscript",
               "--report", str(tmp_path / "export.json")])
    assert rc == 0
    rep = json.loads((tmp_path / "export.json").read_text())
    assert rep["faces"] <= 3000 and rep["conversions"][".glb"]["scale"] == pytest.approx(1e-3)
    from neuhead.reconstruction import load_reconstruction

    recon = load_reconstruction(run_dir)
    glb = trimesh.load(outs[0], force="mesh")
    ply = trimesh.load(outs[2])
    voxel = 2.02 / 64
    for verts_world_mm in (glb.vertices * 1000, ply.vertices):  # GLB in metres, PLY in millimetres
        unit = (verts_world_mm - T[:3, 3]) / 100.0
        assert np.abs(recon.sdf_fn(unit)).mean() < 0.1 * voxel
        assert np.abs(recon.sdf_fn(unit)).max() < voxel
    assert (tmp_path / "head_texture.png").exists() and (tmp_path / "head_sdf.npz").exists()
    import torch

    net = torch.jit.load(str(tmp_path / "head_sdf.pt"))
    pw = T[:3, 3] + np.random.default_rng(0).uniform(-100, 100, (500, 3))
    want = recon.sdf(pw)  # world units (mm)
    got = net(torch.tensor(pw, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    g = np.load(tmp_path / "head_sdf.npz")
    idx = np.array([[0, 0, 0], [12, 12, 12], [3, 20, 7]])
    np.testing.assert_allclose(g["values"][tuple(idx.T)], recon.sdf(g["bounds"][0] + idx * g["voxel_size"]),
                               rtol=1e-4, atol=1e-3)
    assert str(g["units"]) == "mm"


def test_bad_requests_exit_2_with_one_line(run_dir, tmp_path, capsys):
    assert main(["export", str(run_dir), "--out", str(tmp_path / "head.fbx")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "head.fbx" in err and "unknown mesh format" in err
    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "h.glb")]) == 2
    assert "missing" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["export", str(run_dir), "--out", str(blocker / "h.glb"), "--resolution", "32"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot be written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_model_without_surface_is_a_clear_error(tmp_path, monkeypatch, capsys):
    import types

    from neuhead.commands import export as export_cmd

    recon = types.SimpleNamespace(sdf_fn=lambda p: np.ones(len(p), np.float32), color_fn=None, to_world=np.eye(4),
                                  world_units="m", sdf_module=lambda: None, report={},
                                  export_units=lambda override=None: ("m", []))
    monkeypatch.setattr(export_cmd, "_load_reconstruction", lambda path: recon)
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "h.glb"), "--resolution", "32"]) == 2
    err = capsys.readouterr().err.strip()
    assert "never crosses zero" in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []

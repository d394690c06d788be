import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from meshing import shapes
from meshing.errors import ExportError
from meshing.export import export_asset
from meshing.sdf_export import export_sdf_network, write_sdf_grid

T = np.eye(4)
T[:3, :3] = 95.0 * Rotation.from_euler("xyz", [20, -35, 60], degrees=True).as_matrix()
T[:3, 3] = [12.0, -40.0, 650.0]


def _mlp(seed=0):
    g = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(3, 32), torch.nn.Softplus(beta=100), torch.nn.Linear(32, 32),
                              torch.nn.Softplus(beta=100), torch.nn.Linear(32, 1))
    for p in net.parameters():
        p.data = torch.randn(p.shape, generator=g) * 0.5
    return net.eval()


def _reference(net, pw):
    pu = (pw - T[:3, 3]) @ np.linalg.inv(T[:3, :3]).T
    with torch.no_grad():
        return net(torch.tensor(pu, dtype=torch.float32)).numpy().reshape(-1) * 95.0


def test_grid_npz_is_the_world_sdf(tmp_path):
    info = write_sdf_grid(shapes.sphere_sdf(0.5), T, tmp_path / "g.npz", samples=33, world_units="mm")
    d = np.load(tmp_path / "g.npz")
    assert d["values"].shape == (33, 33, 33) and str(d["units"]) == "mm" and str(d["frame"]) == "world"
    lo, hi = d["bounds"]
    np.testing.assert_allclose((hi - lo) / 32, d["voxel_size"])
    np.testing.assert_allclose((lo + hi) / 2, T[:3, 3])
    # a sphere stays a sphere under a similarity: |p - t| - 0.5 · 95 mm
    idx = np.array([[0, 0, 0], [16, 16, 16], [5, 20, 31], [32, 7, 11]])
    p = lo + idx * d["voxel_size"]
    np.testing.assert_allclose(d["values"][tuple(idx.T)], np.linalg.norm(p - T[:3, 3], axis=1) - 47.5, atol=1e-3)
    assert info.shape == (33, 33, 33)


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_network_artefact_agrees_with_the_module(tmp_path, fmt):
    net = _mlp()
    path = tmp_path / ("sdf.pt" if fmt == "torchscript" else "sdf.onnx")
    export_sdf_network(net, T, path, fmt)
    rng = np.random.default_rng(1)
    pw = T[:3, 3] + rng.uniform(-95, 95, (1000, 3))
    want = _reference(net, pw)
    x = pw.astype(np.float32)
    if fmt == "torchscript":
        got = torch.jit.load(str(path))(torch.tensor(x)).detach().numpy()
    else:
        import onnxruntime

        got = onnxruntime.InferenceSession(str(path)).run(None, {"points": x})[0]
    assert got.shape == (1000,)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3 * np.abs(want).max())


def test_export_asset_writes_sdf_files_and_checks_format(tmp_path):
    net = _mlp(3)

    def sdf_fn(p):
        with torch.no_grad():
            return net(torch.tensor(p)).numpy().reshape(-1)

    sphere = lambda p: np.linalg.norm(p, axis=1) - 0.5 + 0 * sdf_fn(p)
    rep = export_asset(sphere, None, T, tmp_path / "h.ply", world_units="mm", sdf_grid=17, sdf_net="torchscript",
                       sdf_module=net, resolution=32)
    assert (tmp_path / "h_sdf.npz").exists() and (tmp_path / "h_sdf.pt").exists()
    assert str(tmp_path / "h_sdf.pt") in rep.files
    with pytest.raises(ExportError, match="unknown SDF network format"):
        export_sdf_network(net, T, tmp_path / "x.bin", "tflite")

"""SDF export: the SDF sampled on a world-frame grid (``.npz``) and the SDF network as a standalone
TorchScript or ONNX file that takes WORLD points and returns the signed distance in world units.

The grid is made solid like the meshes (:mod:`meshing.solid`): positive samples not connected to the grid
boundary are re-signed to minus their distance to the outside. The network is the fitted field as it is; if
the field was hollow it is NOT corrected, and its description (and the file's metadata) says so and points
to the grid.

Both take the unit-sphere-frame SDF and ``to_world`` (a similarity: rotation, uniform scale ``s``,
translation): ``sdf_world(p) = s · sdf_unit(to_world⁻¹ p)``.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from meshing._files import atomic_path
from meshing.errors import ExportError
from meshing.frames import check_units, similarity_scale
from meshing.grid import SDFFn, evaluate
from meshing.solid import Resigned, resign_interior

log = logging.getLogger(__name__)

NET_FORMATS = {"torchscript": ".pt", "onnx": ".onnx"}


@dataclass(frozen=True)
class SDFGridInfo:
    """What :func:`write_sdf_grid` wrote."""

    path: str
    """the .npz file"""
    shape: tuple
    """(N, N, N) samples"""
    bounds: tuple
    """((x0, y0, z0), (x1, y1, z1)) world coordinates of the first and last sample"""
    voxel_size: float
    """world units between neighbouring samples"""
    units: str
    """units of the world frame (and of the SDF values)"""
    resigned_voxels: int = 0
    """samples re-signed from positive to negative (enclosed hollows of the field)"""
    resigned_fraction: float = 0.0
    """resigned_voxels over all samples"""


def sdf_grid_world(sdf_fn: SDFFn, to_world: np.ndarray, samples: int, bound: float = 1.01,
                   chunk: int = 262_144) -> tuple[np.ndarray, np.ndarray, float]:
    """World-axis-aligned grid of ``samples``³ points over the world bounding box of the unit-frame
    ball of radius ``bound``; returns (values float32 (N, N, N) in world units, bounds (2, 3), voxel).
    The raw field: :func:`write_sdf_grid` re-signs its enclosed hollows."""
    if samples < 2:
        raise ExportError(f"SDF grid needs at least 2 samples per axis, got {samples}")
    to_world = np.asarray(to_world, dtype=np.float64)
    s = similarity_scale(to_world)
    centre = to_world[:3, 3]
    lo, hi = centre - bound * s, centre + bound * s
    axes = [np.linspace(lo[i], hi[i], samples) for i in range(3)]
    to_unit = np.linalg.inv(to_world)
    values = np.empty((samples,) * 3, dtype=np.float32)
    yz = np.stack(np.meshgrid(axes[1], axes[2], indexing="ij"), -1).reshape(-1, 2)
    rows = max(1, chunk // (samples * samples))
    for i in range(0, samples, rows):
        xs = axes[0][i : i + rows]
        pw = np.concatenate([np.repeat(xs, len(yz))[:, None], np.tile(yz, (len(xs), 1))], 1)  # world
        pu = pw @ to_unit[:3, :3].T + to_unit[:3, 3]
        values[i : i + len(xs)] = (evaluate(sdf_fn, pu, chunk) * s).reshape(len(xs), samples, samples)
    return values, np.stack([lo, hi]), float((hi[0] - lo[0]) / (samples - 1))


def write_sdf_grid(sdf_fn: SDFFn, to_world: np.ndarray, path: str | Path, samples: int = 256,
                   world_units: str = "unit", solid: bool = True, seal: float = 0.15) -> SDFGridInfo:
    """Write ``path`` (.npz): ``values`` (N, N, N) float32 SDF in world units, index [i, j, k] ↔ world
    point ``bounds[0] + (i, j, k) · voxel_size``; ``bounds`` (2, 3); ``voxel_size``; ``units``;
    ``frame`` ("world"); ``to_world`` (the unit-sphere → world transform, for reference);
    ``resigned_voxels`` (samples of enclosed hollows re-signed to minus their distance to the outside,
    ``solid``; 0 when the field is solid; ``seal``: unit-frame distance, as ``MeshConfig.seal``)."""
    check_units(world_units, "world units")
    values, bounds, voxel = sdf_grid_world(sdf_fn, to_world, samples)
    resigned = Resigned(0, values.size)
    if solid:
        values, resigned = resign_interior(values, voxel, seal=seal * similarity_scale(to_world) / voxel)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, values=values, bounds=bounds, voxel_size=np.float64(voxel),
                                units=np.str_(world_units), frame=np.str_("world"),
                                to_world=np.asarray(to_world, dtype=np.float64),
                                resigned_voxels=np.int64(resigned.voxels))
    return SDFGridInfo(path=str(path), shape=values.shape, bounds=tuple(map(tuple, bounds.tolist())),
                       voxel_size=voxel, units=world_units, resigned_voxels=resigned.voxels,
                       resigned_fraction=resigned.fraction)


def world_sdf_module(module, to_world: np.ndarray):
    """Wrap a unit-frame SDF ``module`` ((n, 3) float32 → (n,) or (n, 1)) as a module taking world
    points (n, 3) and returning (n,) signed distances in world units."""
    import torch

    s = similarity_scale(to_world)
    to_unit = np.linalg.inv(np.asarray(to_world, dtype=np.float64))

    class WorldSDF(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.sdf = module
            self.register_buffer("rotation", torch.tensor(to_unit[:3, :3].T, dtype=torch.float32))
            self.register_buffer("offset", torch.tensor(to_unit[:3, 3], dtype=torch.float32))
            self.register_buffer("scale", torch.tensor(s, dtype=torch.float32))

        def forward(self, points: torch.Tensor) -> torch.Tensor:
            unit = points @ self.rotation + self.offset
            return self.sdf(unit).reshape(-1) * self.scale

    return WorldSDF().eval()


def interior_note(resigned_fraction: float | None, grid_file: str | None = None) -> str:
    """What the network export says about its interior, given the hollow share the meshing found."""
    if resigned_fraction is None:
        return "the fitted field as it is; its interior sign was not checked"
    if resigned_fraction == 0:
        return "the fitted field as it is; meshing found no enclosed positive region (the field is solid)"
    where = f" Use {grid_file} (corrected) for inside/outside tests." if grid_file else ""
    return (f"the fitted field as it is, NOT corrected: {100 * resigned_fraction:.2f} % of the meshing grid points "
            "are positive inside the outer surface (a hollow); the meshes and the SDF grid were re-signed there."
            + where)


@dataclass(frozen=True)
class SDFNetworkInfo:
    """What :func:`export_sdf_network` wrote (everything but ``path`` is also stored inside the file)."""

    path: str
    """the .pt / .onnx file"""
    format: str
    """torchscript or onnx"""
    input: str
    """the input tensor"""
    output: str
    """the output tensor"""
    interior: str
    """whether the network's own field is solid (see :func:`interior_note`)"""


def export_sdf_network(module, to_world: np.ndarray, path: str | Path, fmt: str = "torchscript",
                       interior: str | None = None) -> SDFNetworkInfo:
    """Write the world-frame SDF network to ``path`` as TorchScript (``torch.jit.load``) or ONNX
    (input ``points`` (n, 3) float32, output ``sdf`` (n,)). Returns a small description.

    ``interior`` (see :func:`interior_note`) goes into the description and the file: the TorchScript
    extra file ``neuhead.json``, the ONNX ``metadata_props`` (key ``neuhead``)."""
    import json

    import torch

    if fmt not in NET_FORMATS:
        raise ExportError(f"unknown SDF network format {fmt!r}; expected one of {', '.join(NET_FORMATS)}")
    wrapped = world_sdf_module(module, to_world)
    example = torch.tensor(np.asarray(to_world)[:3, 3], dtype=torch.float32).reshape(1, 3).repeat(7, 1)
    example = example + torch.linspace(-0.5, 0.5, 21).reshape(7, 3) * float(similarity_scale(to_world))
    import warnings

    # torch 2.13 marks TorchScript and the TorchScript-based ONNX exporter deprecated; both still work
    # and need nothing beyond torch (+ onnx); the torch.export-based exporter needs onnxscript and
    # takes ~4 s. The artefacts load with torch.jit.load / any ONNX runtime, without neuhead.
    desc = SDFNetworkInfo(str(path), fmt, "points (n, 3) float32, world frame",
                          "sdf (n,) float32, world units, negative inside", interior or interior_note(None))
    meta = json.dumps({k: v for k, v in asdict(desc).items() if k != "path"})
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if fmt == "torchscript":
            traced = torch.jit.trace(wrapped, example, check_trace=False)
            # serialised in memory, written by Python: torch.jit.save onto a full disk aborts the process
            # (c10::Error thrown from PyTorchStreamWriter's destructor) instead of raising
            buf = io.BytesIO()
            torch.jit.save(traced, buf, _extra_files={"neuhead.json": meta})
            tmp.write_bytes(buf.getvalue())
        else:
            try:
                import onnx  # the exporter needs it; also used for the metadata
            except ImportError:
                raise ExportError("ONNX export needs the 'onnx' package (pip install onnx)") from None
            torch.onnx.export(wrapped, (example,), str(tmp), input_names=["points"], output_names=["sdf"],
                              dynamic_axes={"points": {0: "n"}, "sdf": {0: "n"}}, dynamo=False)
            model = onnx.load(str(tmp))
            entry = model.metadata_props.add()
            entry.key, entry.value = "neuhead", meta
            onnx.save(model, str(tmp))
    log.info("SDF network (%s) written to %s", fmt, path)
    return desc

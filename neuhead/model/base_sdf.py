"""A fixed base SDF under the learned one: the ICT-FaceKit mean head as a voxel grid.

With ``ModelConfig.base_sdf = "ict_neutral"`` the SDF is ``f(x) = mlp(x) + base(x) - (|x| - r)``. The base
is the exact signed distance of the closed ICT neutral head (canonical unit-sphere frame, negative inside),
sampled on a regular 2 mm grid (``assets/ict/neutral_sdf.npz``, made by ``scripts/make_base_sdf.py``) and
interpolated trilinearly; outside the grid's box the distance to the box is added to the clamped lookup
(the head is far away there). The network keeps its geometric initialisation (roughly the sphere
``|x| - r``), which the base replaces, so meta-learning only has to learn how a head differs from the
mean head (identity, hair, expression) instead of the whole head.

A plain residual ``mlp(x) + base(x)`` with the network's output started at zero trained worse (|f| on 12
training heads' surfaces 1.13 mm on the face, 1.94 mm elsewhere, against 0.90 / 1.27 mm this way, same
31 000 steps; see ``assets/prior/MODEL_CARD.md``).

The lookup is written with ``gather`` so that it is differentiable to any order in ``x`` (the eikonal loss
differentiates the gradient again, and rays of refined cameras carry a graph). The reference it is
tested against is ``torch.nn.functional.grid_sample`` (trilinear, ``align_corners=True``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

#: the shipped grid (``neuhead/assets`` is the repository's ``assets/``)
BASE_GRID_PATH = Path(__file__).resolve().parents[1] / "assets" / "ict" / "neutral_sdf.npz"
BASE_KINDS = ("none", "ict_neutral")


@dataclass(frozen=True, eq=False)
class SDFGrid:
    """values (nx, ny, nz) signed distance in unit-sphere units at ``lo + voxel * (i, j, k)``."""

    values: np.ndarray
    lo: np.ndarray
    voxel: float

    @property
    def hi(self) -> np.ndarray:
        return self.lo + self.voxel * (np.array(self.values.shape) - 1)

    def save(self, path) -> None:
        from neuhead.io import atomic_path

        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, values=self.values.astype(np.float16), lo=self.lo.astype(np.float64),
                                    voxel=np.float64(self.voxel))


@functools.lru_cache(maxsize=2)
def load_grid(path: str | Path = BASE_GRID_PATH) -> SDFGrid:
    from neuhead.errors import InputError

    try:
        with np.load(path, allow_pickle=False) as d:
            return SDFGrid(d["values"].astype(np.float32), d["lo"].astype(np.float64), float(d["voxel"]))
    except (OSError, KeyError, ValueError) as e:
        raise InputError(f"{path}: base SDF grid is missing or unreadable ({e.__class__.__name__}: {e}); "
                         "rebuild it with scripts/make_base_sdf.py") from None


class GridSDF(nn.Module):
    """``forward(x (n, 3)) -> (n,)``: trilinear lookup of a fixed grid (a non-persistent buffer: the grid
    comes from the asset, not from the prior's weights file)."""

    def __init__(self, grid: SDFGrid) -> None:
        super().__init__()
        self.register_buffer("values", torch.as_tensor(grid.values, dtype=torch.float32).contiguous(), persistent=False)
        self.register_buffer("lo", torch.as_tensor(grid.lo, dtype=torch.float32), persistent=False)
        self.register_buffer("hi", torch.as_tensor(grid.hi, dtype=torch.float32), persistent=False)
        self.voxel = float(grid.voxel)
        self._band_cache: dict[float, torch.Tensor] = {}  # ``_band_voxels``: band -> voxel indices (CPU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.values.to(x.dtype)
        lo, hi = self.lo.to(x.dtype), self.hi.to(x.dtype)
        xc = torch.minimum(torch.maximum(x, lo), hi)
        outside = _safe_norm(x - xc)
        u = (xc - lo) / self.voxel  # continuous voxel coordinates
        f0 = u.detach().floor().long()
        i0 = torch.stack([f0[:, k].clamp(0, v.shape[k] - 2) for k in range(3)], 1)  # the cell's first corner
        t = u - i0.to(x.dtype)  # (n, 3) in [0, 1]
        flat = v.reshape(-1)
        sy, sx = v.shape[2], v.shape[1] * v.shape[2]
        base = i0[:, 0] * sx + i0[:, 1] * sy + i0[:, 2]
        terms = []  # (a sum of 8 terms, not an in-place accumulator: a traced export keeps the batch size free)
        for dx in (0, 1):
            wx = t[:, 0] if dx else 1 - t[:, 0]
            for dy in (0, 1):
                wy = t[:, 1] if dy else 1 - t[:, 1]
                for dz in (0, 1):
                    wz = t[:, 2] if dz else 1 - t[:, 2]
                    terms.append(wx * wy * wz * flat[base + dx * sx + dy * sy + dz])
        out = torch.stack(terms).sum(0)
        return out + outside

    def near_surface(self, n: int, band: float, generator: torch.Generator) -> torch.Tensor:
        """``n`` points (n, 3) drawn uniformly from the voxels whose value is within ``band`` of 0 (each
        point anywhere in its voxel's cube), for fitting a network to this SDF where it matters. Drawn on the
        CPU (``generator`` is a CPU generator), returned on the grid's device."""
        idx = self._band_voxels(band)
        pick = idx[torch.randint(len(idx), (n,), generator=generator)]
        ny, nz = self.values.shape[1], self.values.shape[2]
        ijk = torch.stack([pick // (ny * nz), (pick // nz) % ny, pick % nz], 1).to(torch.float32)
        jitter = torch.rand(n, 3, generator=generator) - 0.5
        return (self.lo.cpu() + (ijk + jitter) * self.voxel).to(self.values.device)

    def _band_voxels(self, band: float) -> torch.Tensor:
        """flat indices (CPU) of the voxels whose value is within ``band`` of 0; found once per band (a fit's
        start draws from the same band every step)"""
        if band not in self._band_cache:
            idx = torch.nonzero(self.values.cpu().abs().reshape(-1) < band).squeeze(1)
            if len(idx) == 0:
                raise ValueError(f"base SDF: no voxel within {band} of the surface")
            self._band_cache[band] = idx
        return self._band_cache[band]

    def reference(self, x: torch.Tensor) -> torch.Tensor:
        """The same lookup by ``grid_sample`` (trilinear, corners aligned): the test's reference."""
        import torch.nn.functional as F

        lo, hi = self.lo.to(x.dtype), self.hi.to(x.dtype)
        xc = torch.minimum(torch.maximum(x, lo), hi)
        g = (xc - lo) / (hi - lo) * 2 - 1  # grid_sample wants (z, y, x) order for a (D, H, W) = (nx, ny, nz) volume
        vol = self.values.to(x.dtype)[None, None]
        s = F.grid_sample(vol, g.flip(-1)[None, None, None], mode="bilinear", align_corners=True)
        return s.reshape(-1) + (x - xc).norm(dim=-1)


def _safe_norm(d: torch.Tensor) -> torch.Tensor:
    """|d| along the last axis with a zero (not NaN) gradient where d = 0 (inside the box)."""
    return ((d * d).sum(-1).clamp_min(1e-30)).sqrt() * (d.abs().sum(-1) > 0)


def make_base(kind: str) -> GridSDF | None:
    """The base SDF module of a ``ModelConfig.base_sdf`` value (None for "none")."""
    if kind == "none":
        return None
    if kind == "ict_neutral":
        return GridSDF(load_grid())
    raise ValueError(f"ModelConfig.base_sdf must be one of {BASE_KINDS}, got {kind!r}")

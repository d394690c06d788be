"""The NeuS fields: SDF network (geometric init, skip, PE, Softplus β=100), radiance network,
per-scene NeRF++ background. Every linear layer is a ``SceneLinear``; the config says which are
scene-specific."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from neuhead import sh
from neuhead.config import ModelConfig
from neuhead.model.base_sdf import make_base
from neuhead.model.scene_linear import MEAN_SCENE, SceneLinear


def positional_encoding(x: torch.Tensor, n_freqs: int) -> torch.Tensor:
    """NeRF PE: ``[x, sin(2^k x), cos(2^k x)]`` for k < n_freqs. x: (n, d) -> (n, d (1 + 2 n_freqs))."""
    if n_freqs == 0:
        return x
    freqs = 2.0 ** torch.arange(n_freqs, dtype=x.dtype, device=x.device)
    xf = (x[..., None, :] * freqs[:, None]).flatten(-2)  # (n, n_freqs * d), frequency-major
    # interleave as [sin f0, cos f0, sin f1, ...] blocks of d like NeuS's embedder
    sc = torch.stack([torch.sin(xf).view(*x.shape[:-1], n_freqs, -1),
                      torch.cos(xf).view(*x.shape[:-1], n_freqs, -1)], -2)  # (n, F, 2, d)
    return torch.cat([x, sc.flatten(-3)], -1)


class SDFNetwork(nn.Module):
    """f(x) -> (sdf, feature). ``forward(x (n, 3), scene) -> (sdf (n,), feature (n, feature_dim))``."""

    def __init__(self, cfg: ModelConfig, n_scenes: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        d_in = 3 * (1 + 2 * cfg.pe_freqs)
        self.d_in = d_in
        dims = [d_in] + [cfg.sdf_hidden] * cfg.sdf_layers + [1 + cfg.feature_dim]
        self.skip = set(cfg.sdf_skip)
        if self.skip and cfg.sdf_hidden <= d_in:
            raise ValueError(f"sdf_hidden ({cfg.sdf_hidden}) must exceed the encoded input size ({d_in}) with a skip connection")
        self.layers = nn.ModuleList()
        n_lin = len(dims) - 1
        for l in range(n_lin):
            out_dim = dims[l + 1] - d_in if (l + 1) in self.skip else dims[l + 1]
            kind = cfg.scene_kind if l < cfg.sdf_scene_layers else "shared"
            layer = SceneLinear(dims[l], out_dim, n_scenes, kind, cfg.rank, cfg.weight_norm,
                                cfg.lowrank_init_noise, generator)
            W, b = self._geometric_init(l, n_lin, dims[l], out_dim, generator)
            layer.set_theta(layer.pack(W, b), generator)
            self.layers.append(layer)
        #: fixed base SDF (None: the network is the whole SDF)
        self.base = make_base(cfg.base_sdf)

    def _geometric_init(self, l, n_lin, in_dim, out_dim, gen) -> tuple[torch.Tensor, torch.Tensor]:
        """IDR/NeuS geometric initialisation: the initial SDF approximates a sphere of init_radius."""
        cfg = self.cfg
        if l == n_lin - 1:
            W = math.sqrt(math.pi) / math.sqrt(in_dim) + 1e-4 * torch.randn(out_dim, in_dim, generator=gen)
            b = torch.full((out_dim,), -cfg.init_radius)
            return W, b
        W = torch.randn(out_dim, in_dim, generator=gen) * math.sqrt(2) / math.sqrt(out_dim)
        b = torch.zeros(out_dim)
        if cfg.pe_freqs > 0 and l == 0:
            W[:, 3:] = 0.0
        elif cfg.pe_freqs > 0 and l in self.skip:
            W[:, -(self.d_in - 3):] = 0.0
        return W, b

    def forward(self, x: torch.Tensor, scene: int | str = 0) -> tuple[torch.Tensor, torch.Tensor]:
        inp = positional_encoding(x, self.cfg.pe_freqs)
        h = inp
        for l, layer in enumerate(self.layers):
            if l in self.skip:
                h = torch.cat([h, inp], -1) / math.sqrt(2)
            h = layer(h, scene)
            if l < len(self.layers) - 1:
                h = F.softplus(h, beta=100)
        sdf = h[:, 0]
        if self.base is not None:  # the network starts as the sphere |x| - r (geometric init): swap it for the base
            sdf = sdf + self.base(x) - (x.norm(dim=-1) - self.cfg.init_radius)
        return sdf, h[:, 1:]


def sh_irradiance(normals: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """Irradiance (m, 3) at surface normals (m, 3) (any length, normalised here) under one scene's lighting
    ``coeffs`` (9, 3); clamped at 0. Second-order SH hold the irradiance of any distant light to a few per cent
    (Ramamoorthi and Hanrahan 2001): a directional light with ambient, a soft light, a flat one."""
    n = normals / normals.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    return (sh.basis(n) @ coeffs).clamp_min(0.0)


def shade_albedo(albedo: torch.Tensor, irradiance: torch.Tensor) -> torch.Tensor:
    """sRGB colour ``(a^g E)^(1/g)`` of sRGB albedo ``a`` (m, 3) under irradiance ``E`` (m, 3), clipped to [0, 1]
    like the rendered images."""
    linear = albedo.clamp_min(1e-4) ** sh.SRGB_GAMMA * irradiance
    return linear.clamp(1e-4, 1.0) ** (1.0 / sh.SRGB_GAMMA)


class RadianceNetwork(nn.Module):
    """c(x, n, feature[, view]) -> rgb in [0, 1]. ReLU hidden layers, sigmoid output.

    With ``cfg.shading == "sh"`` the network does not see the normal: its output is an albedo, shaded by the
    scene's own SH irradiance (``light``: (n_scenes, 9, 3), one row per scene, like the variance)."""

    def __init__(self, cfg: ModelConfig, n_scenes: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if cfg.shading not in ("none", "sh"):
            raise ValueError(f"ModelConfig.shading must be 'none' or 'sh', got {cfg.shading!r}")
        self.cfg = cfg
        self.shaded = cfg.shading == "sh"
        d_in = (3 if self.shaded else 6) + cfg.feature_dim + (3 * 9 if cfg.use_viewdir else 0)
        dims = [d_in] + [cfg.rgb_hidden] * cfg.rgb_layers + [3]
        self.layers = nn.ModuleList(
            SceneLinear(dims[l], dims[l + 1], n_scenes, cfg.scene_kind if l < cfg.rgb_scene_layers else "shared",
                        cfg.rank, cfg.weight_norm, cfg.lowrank_init_noise, generator)
            for l in range(len(dims) - 1)
        )
        if self.shaded:  # every scene starts unlit: E = 1, the colour is the albedo
            light = torch.zeros(n_scenes, sh.N_BASIS, 3)
            light[:, 0] = 1.0
            self.light = nn.Parameter(light)

    def scene_light(self, scene: int | str) -> torch.Tensor:
        """(9, 3) SH lighting of one scene, or the mean of all scenes' (``scene_linear.MEAN_SCENE``)."""
        return self.light.detach().mean(0) if scene == MEAN_SCENE else self.light[scene]

    def forward(self, x, normals, features, dirs=None, scene: int = 0) -> torch.Tensor:
        parts = [x, features] if self.shaded else [x, normals, features]
        if self.cfg.use_viewdir:
            parts.append(positional_encoding(dirs, 4))
        h = torch.cat(parts, -1)
        for l, layer in enumerate(self.layers):
            h = layer(h, scene)
            if l < len(self.layers) - 1:
                h = F.relu(h)
        rgb = torch.sigmoid(h)
        return shade_albedo(rgb, sh_irradiance(normals, self.scene_light(scene))) if self.shaded else rgb


class BackgroundField(nn.Module):
    """Per-scene NeRF++ background outside the unit sphere (every layer independent per scene).

    Input: inverted-sphere coordinates ``(x/r, 1/r)`` of a point at radius r > 1, PE 6 (+ view dir PE 4).
    Output: density (n,) and rgb (n, 3).
    """

    def __init__(self, cfg: ModelConfig, n_scenes: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        d_in = 4 * (1 + 2 * 6) + 3 * 9
        dims = [d_in] + [cfg.bg_hidden] * cfg.bg_layers + [4]
        self.layers = nn.ModuleList(
            SceneLinear(dims[l], dims[l + 1], n_scenes, "independent", generator=generator)
            for l in range(len(dims) - 1)
        )

    def forward(self, x: torch.Tensor, dirs: torch.Tensor, scene: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        r = x.norm(dim=-1, keepdim=True).clamp_min(1.0)
        h = torch.cat([positional_encoding(torch.cat([x / r, 1.0 / r], -1), 6), positional_encoding(dirs, 4)], -1)
        for l, layer in enumerate(self.layers):
            h = layer(h, scene)
            if l < len(self.layers) - 1:
                h = F.relu(h)
        return F.softplus(h[:, 0]), torch.sigmoid(h[:, 1:])

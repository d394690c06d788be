"""Losses: colour L1, eikonal, mask BCE, solid interior. Each returns a scalar tensor; ``total_loss`` also a
dict of floats.

Solid interior (issue 16): volume rendering only sees the first surface, so nothing stops the SDF from
turning positive again behind it (a hollow head with an inner wall). Two hinges keep the inside negative:
points a head-suited thickness behind the first surface of foreground rays (:func:`behind_surface_points`),
and, for heads in the canonical frame, points of an ellipsoid around the head's centre (:func:`core_points`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from neuhead.cameras import Rays
from neuhead.config import LossConfig
from neuhead.render import RenderOutputs


def color_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over rays and channels. pred, target: (n, 3)."""
    return (pred - target).abs().mean()


def eikonal(gradients: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``mean over masked samples of (|∇f| - 1)^2``. gradients (n, s, 3), mask (n, s) in {0, 1}."""
    err = (gradients.norm(dim=-1) - 1.0) ** 2
    return (err * mask).sum() / (mask.sum() + 1e-5)


def mask_bce(opacity: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the accumulated opacity (clipped to [1e-3, 1 - 1e-3]) against the mask."""
    return F.binary_cross_entropy(opacity.clamp(1e-3, 1 - 1e-3), mask)


def inside_hinge(sdf: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """``mean relu(sdf + margin)`` over points that must be inside (0 for no points)."""
    if sdf.numel() == 0:
        return sdf.sum()
    return torch.relu(sdf + margin).mean()


def behind_surface_points(rays: Rays, out: RenderOutputs, mask: torch.Tensor, cfg: LossConfig,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """Points that must be inside: on foreground rays (mask > 0.5, rendered opacity > 0.5) whose surface
    normal meets the ray at ``cos >= solid_min_cos``, ``solid_samples`` depths uniform in
    ``[d + T cos / 4, d + T cos]`` (d the rendered depth, T = ``solid_depth``). Scaling by the cosine keeps
    grazing rays, whose chord through the head is short, from reaching out of the back or side.

    Everything is detached (where the points are is not optimised). Returns (m, 3), m may be 0.
    """
    with torch.no_grad():
        opacity = out.opacity.detach()
        depth = out.depth.detach() / opacity.clamp_min(1e-3)  # (n, 1) expected depth of the hit
        n = out.normal.detach()
        cos = -(n * rays.dirs).sum(-1, keepdim=True) / n.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        keep = ((mask > 0.5) & (opacity > 0.5) & (cos >= cfg.solid_min_cos)).reshape(-1)
        u = torch.rand(len(depth), cfg.solid_samples, generator=generator, dtype=depth.dtype).to(depth.device)
        t = depth + cfg.solid_depth * cos * (0.25 + 0.75 * u)  # (n, k)
        pts = rays.origins[:, None] + rays.dirs[:, None] * t[..., None]  # (n, k, 3)
        return pts[keep].reshape(-1, 3)


def core_points(n: int, radii, generator: torch.Generator | None = None,
                device: str | torch.device = "cpu") -> torch.Tensor:
    """n points uniform in the origin-centred ellipsoid with semi-axes ``radii`` (3,) (or a ball of that
    radius for a float), (n, 3)."""
    g = torch.randn(n, 3, generator=generator)
    r = torch.rand(n, 1, generator=generator) ** (1.0 / 3.0)
    ball = g / g.norm(dim=-1, keepdim=True).clamp_min(1e-8) * r
    return (ball * torch.as_tensor(radii, dtype=ball.dtype)).to(device)


def solid_terms(sdf_fn, rays: Rays, out: RenderOutputs, target_mask: torch.Tensor | None, cfg: LossConfig,
                generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """The weighted solid-interior hinges (``solid``: behind the surface, needs masks; ``core``: the
    head-centre ball, as many points as rays) for ``total_loss(..., extra=...)``. ``sdf_fn``: x (m, 3) -> (m,).
    Draws from ``generator`` only for the terms that are on, so runs with both off are unchanged."""
    parts: dict[str, torch.Tensor] = {}
    if cfg.solid > 0 and target_mask is not None:
        pts = behind_surface_points(rays, out, target_mask, cfg, generator)
        parts["solid"] = inside_hinge(sdf_fn(pts).reshape(-1)) * cfg.solid if len(pts) else out.rgb.sum() * 0.0
    if cfg.core > 0:
        pts = core_points(len(rays.origins), cfg.core_radii, generator, rays.origins.device)
        parts["core"] = inside_hinge(sdf_fn(pts).reshape(-1), cfg.core_margin) * cfg.core
    return parts


def total_loss(out: RenderOutputs, target_rgb: torch.Tensor, target_mask: torch.Tensor | None,
               cfg: LossConfig, extra: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the losses. target_rgb (n, 3) (already composited on the same background),
    target_mask (n, 1) or None (no mask loss); ``extra``: further weighted terms (e.g. :func:`solid_terms`)."""
    parts = {
        "color": color_l1(out.rgb, target_rgb) * cfg.color,
        "eikonal": eikonal(out.gradients, (out.radius < cfg.eikonal_radius).to(out.gradients.dtype)) * cfg.eikonal,
    }
    if target_mask is not None and cfg.mask > 0:
        parts["mask"] = mask_bce(out.opacity, target_mask) * cfg.mask
    parts.update(extra or {})
    total = sum(parts.values())
    logs = {k: float(v.detach()) for k, v in parts.items()}
    logs["total"] = float(total.detach())
    logs["psnr"] = float(-10 * torch.log10(((out.rgb.detach() - target_rgb) ** 2).mean() + 1e-10))
    return total, logs


class CoefficientPrior:
    """A Gaussian over the training scenes' coefficients in the SDF network's low-rank scene layers.

    Fitting a new scene from one view leaves most of the head unseen; this keeps its coefficients where
    training heads have theirs. For each low-rank SDF layer with training coefficients C (n, r) (every
    scene but the fitted one): mean mu, covariance S + ridge * mean(diag S) * I, and
    ``__call__(c) = mean over layers and dimensions of (L^-1 (c - mu))^2``, L the Cholesky factor
    (about 1 for a training head). The radiance layers are left free: a new look must not be pulled to the
    training looks.
    """

    def __init__(self, model, scene_index: int, ridge: float = 0.05) -> None:
        self.layers, self.means, self.whiten = [], [], []
        keep = [i for i in range(model.n_scenes) if i != scene_index]
        for layer in model.sdf_net.layers:
            if layer.kind != "lowrank" or len(keep) < 2:
                continue
            C = layer.coeffs.detach()[keep].double()
            mu = C.mean(0)
            S = torch.cov(C.T)
            S = S + ridge * S.diagonal().mean() * torch.eye(len(S), dtype=S.dtype, device=S.device)
            Linv = torch.linalg.inv(torch.linalg.cholesky(S))
            self.layers.append(layer)
            self.means.append(mu.float())
            self.whiten.append(Linv.float())
        self.scene_index = scene_index

    def __bool__(self) -> bool:
        return bool(self.layers)

    def __call__(self) -> torch.Tensor:
        terms = [((W @ (layer.coeffs[self.scene_index] - mu)) ** 2).mean()
                 for layer, mu, W in zip(self.layers, self.means, self.whiten)]
        return torch.stack(terms).mean()

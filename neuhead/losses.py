"""Losses: colour L1, eikonal, mask BCE. Each returns a scalar tensor; ``total_loss`` also a dict of floats."""

from __future__ import annotations

import torch
import torch.nn.functional as F

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


def total_loss(out: RenderOutputs, target_rgb: torch.Tensor, target_mask: torch.Tensor | None,
               cfg: LossConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the losses. target_rgb (n, 3) (already composited on the same background),
    target_mask (n, 1) or None (no mask loss)."""
    parts = {
        "color": color_l1(out.rgb, target_rgb) * cfg.color,
        "eikonal": eikonal(out.gradients, out.eikonal_mask) * cfg.eikonal,
    }
    if target_mask is not None and cfg.mask > 0:
        parts["mask"] = mask_bce(out.opacity, target_mask) * cfg.mask
    total = sum(parts.values())
    logs = {k: float(v.detach()) for k, v in parts.items()}
    logs["total"] = float(total.detach())
    logs["psnr"] = float(-10 * torch.log10(((out.rgb.detach() - target_rgb) ** 2).mean() + 1e-10))
    return total, logs

"""Image metrics (masked PSNR / SSIM) and novel-view evaluation with control-camera refinement.

No imports from neuhead: the renderer is a callable ``render_fn(K, c2w) -> image``, with
K (3, 3) and c2w (4, 4) torch tensors (OpenCV convention, camera-to-world for column vectors)
and image (H, W, 3) a torch tensor in [0, 1], differentiable in K and c2w.

Control-camera refinement (Multi-NeuS): before scoring a held-out view, its pose and focal are
optimised for PSNR: ``c2w' = c2w · [[exp([ω]×), τ], [0, 1]]`` (update in the camera frame),
``f' = f · exp(φ)``, all three zero-initialised, Adam on
``MSE_mask(render(K', c2w'), target) + λ φ²``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)

RenderFn = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]  # noqa: F821


def _as_tensor(x, dtype=None):
    import torch

    t = torch.as_tensor(x)
    return t.to(dtype or (t.dtype if t.is_floating_point() else torch.float64))


def _check_pair(pred, gt, mask):
    if tuple(pred.shape) != tuple(gt.shape) or pred.dim() not in (2, 3):
        raise ValueError(f"image metrics: pred {tuple(pred.shape)} and gt {tuple(gt.shape)} must both be (H, W[, C])")
    if mask is not None and tuple(mask.shape) != tuple(gt.shape[:2]):
        raise ValueError(f"image metrics: mask {tuple(mask.shape)} must be (H, W) = {tuple(gt.shape[:2])}")


def masked_mse(pred, gt, mask=None):
    """``Σ_p m_p |pred_p - gt_p|² / (C Σ_p m_p)`` over pixels p (torch, differentiable).

    pred, gt: (H, W, C) or (H, W); mask: (H, W) weights in [0, 1] or None (all pixels).
    """
    import torch

    pred, gt = _as_tensor(pred), _as_tensor(gt)
    gt = gt.to(pred.dtype)
    _check_pair(pred, gt, mask)
    err = (pred - gt) ** 2
    if err.dim() == 3:
        err = err.mean(-1)
    if mask is None:
        return err.mean()
    m = _as_tensor(mask).to(err.dtype)
    total = m.sum()
    if total <= 0:
        raise ValueError("image metrics: the mask selects no pixel")
    return (err * m).sum() / total


def masked_psnr(pred, gt, mask=None, max_val: float = 1.0) -> float:
    """``10 log10(max² / MSE_mask)`` in dB; +inf for identical images."""
    mse = float(masked_mse(pred, gt, mask))
    return math.inf if mse == 0 else 10.0 * math.log10(max_val**2 / mse)


def masked_ssim(pred, gt, mask=None, max_val: float = 1.0, sigma: float = 1.5, win_size: int = 11) -> float:
    """SSIM (Wang et al. 2004, Gaussian window σ = 1.5, 11×11, K1 = 0.01, K2 = 0.03) averaged over
    channels and over the mask's pixels. Like scikit-image, the map is computed where the whole
    window fits (a (win_size-1)/2 border is cropped); with no mask it equals
    ``skimage.metrics.structural_similarity(gaussian_weights=True, use_sample_covariance=False)``.
    """
    import torch
    import torch.nn.functional as F

    pred, gt = _as_tensor(pred, torch.float64), _as_tensor(gt, torch.float64)
    _check_pair(pred, gt, mask)
    if pred.dim() == 2:
        pred, gt = pred[..., None], gt[..., None]
    H, W, C = pred.shape
    if H < win_size or W < win_size:
        raise ValueError(f"masked_ssim: images of {H}x{W} are smaller than the {win_size}x{win_size} window")
    r = (win_size - 1) // 2
    x = torch.arange(win_size, dtype=torch.float64) - r
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    w = (g[:, None] * g[None, :]).expand(C, 1, win_size, win_size)

    def filt(img):  # (C, H, W) -> (C, H - 2r, W - 2r), depthwise
        return F.conv2d(img[None], w, groups=C)[0]

    a, b = pred.permute(2, 0, 1), gt.permute(2, 0, 1)
    mu_a, mu_b = filt(a), filt(b)
    va = filt(a * a) - mu_a**2
    vb = filt(b * b) - mu_b**2
    cab = filt(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    smap = ((2 * mu_a * mu_b + c1) * (2 * cab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
    smap = smap.mean(0)  # (H - 2r, W - 2r)
    if mask is None:
        return float(smap.mean())
    m = _as_tensor(mask, torch.float64)[r:H - r, r:W - r]
    if m.sum() <= 0:
        raise ValueError("masked_ssim: the mask selects no pixel away from the image border")
    return float((smap * m).sum() / m.sum())


# ----------------------------------------------------------------------------- camera refinement


@dataclass(frozen=True)
class RefineConfig:
    """Control-camera refinement settings (Multi-NeuS optimises control poses and focal for PSNR)."""

    steps: int = 100
    """Adam steps per control view (0 disables refinement)"""
    lr_pose: float = 2e-3
    """learning rate of the rotation (radians) and camera-frame translation (scene units)"""
    lr_focal: float = 2e-3
    """learning rate of the log-focal correction"""
    focal_penalty: float = 1e-2
    """weight λ of the L2 penalty φ² on the log-focal change"""
    refine_focal: bool = True
    """also refine the focal length (both fx and fy by the same factor)"""


@dataclass(frozen=True)
class RefinedCamera:
    """A control camera after refinement. K: (3, 3); c2w: (4, 4) numpy float64;
    rotation_deg / translation: size of the pose update; focal_scale: exp(φ);
    psnr_before / psnr_after: masked PSNR (dB) at the initial and the refined camera."""

    K: np.ndarray
    c2w: np.ndarray
    rotation_deg: float
    translation: float
    focal_scale: float
    psnr_before: float
    psnr_after: float
    steps: int


def _skew(w):
    import torch

    z = torch.zeros((), dtype=w.dtype)
    return torch.stack([torch.stack([z, -w[2], w[1]]), torch.stack([w[2], z, -w[0]]),
                        torch.stack([-w[1], w[0], z])])


def apply_camera_update(K, c2w, omega, tau, phi):
    """``K' = diag(e^φ, e^φ, 1) K`` and ``c2w' = c2w · [[exp([ω]×), τ], [0, 1]]`` (torch)."""
    import torch

    R = torch.linalg.matrix_exp(_skew(omega))
    delta = torch.cat([torch.cat([R, tau[:, None]], 1),
                       torch.tensor([[0.0, 0.0, 0.0, 1.0]], dtype=c2w.dtype)], 0)
    s = torch.exp(phi)
    Ks = torch.stack([s, s, torch.ones_like(s)])
    return Ks[:, None] * K, c2w @ delta


def refine_control_camera(render_fn: RenderFn, K, c2w, target, mask=None,
                          config: RefineConfig = RefineConfig(), dtype=None) -> RefinedCamera:
    """Optimise one control camera's pose (and focal) to maximise the masked PSNR of
    ``render_fn(K', c2w')`` against ``target`` (H, W, 3). Returns the best camera seen."""
    import torch

    dtype = dtype or torch.float32
    K0 = torch.as_tensor(np.asarray(K), dtype=dtype)
    c0 = torch.as_tensor(np.asarray(c2w), dtype=dtype)
    tgt = torch.as_tensor(np.asarray(target), dtype=dtype)
    m = None if mask is None else torch.as_tensor(np.asarray(mask), dtype=dtype)
    omega = torch.zeros(3, dtype=dtype, requires_grad=True)
    tau = torch.zeros(3, dtype=dtype, requires_grad=True)
    phi = torch.zeros((), dtype=dtype, requires_grad=config.refine_focal)
    groups = [{"params": [omega, tau], "lr": config.lr_pose}]
    if config.refine_focal:
        groups.append({"params": [phi], "lr": config.lr_focal})
    opt = torch.optim.Adam(groups)

    with torch.no_grad():
        mse0 = float(masked_mse(render_fn(K0, c0), tgt, m))
    best = (mse0, torch.zeros(3), torch.zeros(3), torch.zeros(()))
    for _ in range(config.steps):
        opt.zero_grad(set_to_none=True)
        Kc, cc = apply_camera_update(K0, c0, omega, tau, phi)
        mse = masked_mse(render_fn(Kc, cc), tgt, m)
        if float(mse.detach()) < best[0]:  # the loss of the current parameters, before this step
            best = (float(mse.detach()), omega.detach().clone(), tau.detach().clone(), phi.detach().clone())
        loss = mse + config.focal_penalty * phi**2
        loss.backward()
        opt.step()
    with torch.no_grad():
        Kc, cc = apply_camera_update(K0, c0, omega, tau, phi)
        mse = float(masked_mse(render_fn(Kc, cc), tgt, m))
        if mse < best[0]:
            best = (mse, omega.detach().clone(), tau.detach().clone(), phi.detach().clone())
        _, w, t, p = best
        Kb, cb = apply_camera_update(K0, c0, w, t, p)

    def db(x):
        return math.inf if x == 0 else -10.0 * math.log10(x)

    return RefinedCamera(Kb.double().numpy(), cb.double().numpy(), float(np.rad2deg(float(w.norm()))),
                         float(t.norm()), float(torch.exp(p)), db(mse0), db(best[0]), config.steps)


@dataclass(frozen=True)
class ViewScore:
    """Scores of one control view: masked PSNR (dB) / SSIM at the refined camera, and the PSNR
    before refinement."""

    psnr: float
    ssim: float
    psnr_unrefined: float
    camera: RefinedCamera


@dataclass(frozen=True)
class NovelViewEvaluation:
    """Per-view scores and their means."""

    views: tuple[ViewScore, ...]

    @property
    def psnr(self) -> float:
        return float(np.mean([v.psnr for v in self.views]))

    @property
    def ssim(self) -> float:
        return float(np.mean([v.ssim for v in self.views]))

    def summary(self) -> dict:
        return {"psnr": self.psnr, "ssim": self.ssim,
                "views": [{"psnr": v.psnr, "ssim": v.ssim, "psnr_unrefined": v.psnr_unrefined,
                           "rotation_deg": v.camera.rotation_deg, "translation": v.camera.translation,
                           "focal_scale": v.camera.focal_scale} for v in self.views]}


def evaluate_novel_views(render_fn: RenderFn, Ks, c2ws, images, masks=None,
                         config: RefineConfig = RefineConfig(), dtype=None) -> NovelViewEvaluation:
    """Refine each control camera (``config.steps`` Adam steps), render at the refined camera
    and score it against the held-out image with masked PSNR and SSIM.

    Ks: (n, 3, 3); c2ws: (n, 4, 4); images: (n, H, W, 3) in [0, 1]; masks: (n, H, W) or None.
    """
    import torch

    Ks, c2ws, images = np.asarray(Ks), np.asarray(c2ws), np.asarray(images)
    if not (len(Ks) == len(c2ws) == len(images)) or images.ndim != 4:
        raise ValueError(f"evaluate_novel_views: {len(Ks)} K, {len(c2ws)} c2w and images {images.shape} disagree")
    views = []
    for i in range(len(images)):
        m = None if masks is None else np.asarray(masks[i])
        cam = refine_control_camera(render_fn, Ks[i], c2ws[i], images[i], m, config, dtype)
        with torch.no_grad():
            img = render_fn(torch.as_tensor(cam.K, dtype=dtype or torch.float32),
                            torch.as_tensor(cam.c2w, dtype=dtype or torch.float32)).double().clamp(0, 1)
        views.append(ViewScore(masked_psnr(img, images[i], m), masked_ssim(img, images[i], m),
                               cam.psnr_before, cam))
        log.info("control view %d: PSNR %.2f dB (%.2f before refinement), SSIM %.4f",
                 i, views[-1].psnr, cam.psnr_before, views[-1].ssim)
    return NovelViewEvaluation(tuple(views))

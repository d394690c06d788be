"""Fitting one scene: from scratch (the NeuS baseline) or as scene N+1 of a prior (two stages).

A fit is a list of ``StageConfig``: each names the parameters it moves (``all``, ``scene``, with or
without ``cameras``), its iterations, learning rate and schedule. Checkpoints (every
``checkpoint_every`` iterations and at the end) hold the model, optimizer, camera refinement and the
random-generator state, so a killed run resumes exactly.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from neuhead.cameras import CameraRefinement, Rays, pixel_rays, pixels_near_point, sphere_near_far
from neuhead.config import FitConfig, StageConfig, to_dict
from neuhead.data.scene import Scene
from neuhead.errors import InputError
from neuhead.losses import CoefficientPrior, solid_terms, total_loss
from neuhead.model.multineus import MultiNeuS
from neuhead.model.subspace import CoefficientSubspace
from neuhead.render import background_color, model_fns, render_rays
from neuhead.train.checkpoint import (Checkpoint, load_checkpoint, load_optimizer, optimizer_tensors,
                                      save_checkpoint)

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.safetensors"


class PixelSampler:
    """Random pixels of a scene's images as tensors: images (n, H, W, 3), masks (n, H, W) or None.

    ``focus`` (n, H, W) bool and ``focus_fraction``: that fraction of every batch drawn uniformly from the
    focus pixels (the face, ``face_focus``), the rest from all pixels."""

    def __init__(self, scene: Scene, device: str | torch.device = "cpu", focus: np.ndarray | None = None,
                 focus_fraction: float = 0.0) -> None:
        self.images = torch.as_tensor(scene.images, device=device)
        self.masks = None if scene.masks is None else torch.as_tensor(scene.masks, device=device)
        self.n, self.h, self.w = scene.images.shape[:3]
        self.focus = None  # flat (cam, v, u) indices of the focus pixels
        self.focus_fraction = 0.0
        if focus is not None and focus_fraction > 0 and focus.any():
            self.focus = torch.as_tensor(np.flatnonzero(focus))
            self.focus_fraction = float(focus_fraction)

    def sample(self, n_rays: int, generator: torch.Generator, views: torch.Tensor | None = None):
        """(cam_idx, u, v, rgb (n, 3), mask (n, 1) or None) for n_rays random pixels (of ``views`` if given)."""
        if views is None:
            cam = torch.randint(0, self.n, (n_rays,), generator=generator)
        else:
            cam = views[torch.randint(0, len(views), (n_rays,), generator=generator)]
        u = torch.randint(0, self.w, (n_rays,), generator=generator)
        v = torch.randint(0, self.h, (n_rays,), generator=generator)
        k = int(round(self.focus_fraction * n_rays)) if views is None and self.focus is not None else 0
        if k > 0:
            flat = self.focus[torch.randint(0, len(self.focus), (k,), generator=generator)]
            cam[:k], v[:k], u[:k] = flat // (self.h * self.w), (flat // self.w) % self.h, flat % self.w
        cd, ud, vd = (t.to(self.images.device) for t in (cam, u, v))
        rgb = self.images[cd, vd, ud]
        mask = None if self.masks is None else self.masks[cd, vd, ud][:, None]
        return cam, u, v, rgb, mask


def make_rays(cams_K: torch.Tensor, cams_c2w: torch.Tensor, cam, u, v) -> Rays:
    """Rays (float32) for pixels of the given (possibly refined, differentiable) cameras."""
    o, d = pixel_rays(cams_K[cam], cams_c2w[cam], u.to(cams_K.device), v.to(cams_K.device))
    near, far, _ = sphere_near_far(o.detach(), d.detach())
    return Rays(o.float(), d.float(), near.float(), far.float())


def ray_batch_loss(fns, rays: Rays, rgb: torch.Tensor, mask: torch.Tensor | None, render_cfg, loss_cfg,
                   generator: torch.Generator, *, anneal: float = 1.0, bg: torch.Tensor | None = None,
                   solid: bool = True) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss of one ray batch, shared by fitting and meta-learning: the targets composited on
    ``bg`` where the mask says background, the rays rendered (``render_rays``), the losses
    (``total_loss``, plus the solid-interior terms when ``solid``)."""
    if bg is not None and mask is not None:
        rgb = rgb * mask + bg * (1 - mask)
    out = render_rays(rays, fns, render_cfg, training=True, cos_anneal_ratio=anneal, bg_rgb=bg, generator=generator)
    extra = solid_terms(fns.sdf, rays, out, mask, loss_cfg, generator) if solid else None
    return total_loss(out, rgb, mask, loss_cfg, extra)


def lr_factor(stage: StageConfig, it: int, plateau_scale: float) -> float:
    """Learning-rate multiplier at iteration ``it`` of a stage: linear warm-up then cosine/plateau/constant."""
    if stage.warmup > 0 and it < stage.warmup:
        return (it + 1) / stage.warmup
    if stage.schedule == "cosine":
        p = (it - stage.warmup) / max(1, stage.iters - stage.warmup)
        a = stage.final_lr_ratio
        return (math.cos(math.pi * min(p, 1.0)) + 1.0) * 0.5 * (1 - a) + a
    if stage.schedule == "plateau":
        return plateau_scale
    return 1.0


@dataclass
class Plateau:
    """Reduce-on-plateau on an exponentially smoothed loss; counts drops for early stopping."""

    patience: int
    factor: float
    best: float = float("inf")
    smoothed: float | None = None
    since_best: int = 0
    scale: float = 1.0
    drops: int = 0

    def state(self) -> dict:
        """JSON-able state for a checkpoint; ``Plateau(**state)`` restores it."""
        return dataclasses.asdict(self)

    def update(self, loss: float) -> None:
        self.smoothed = loss if self.smoothed is None else 0.98 * self.smoothed + 0.02 * loss
        if self.smoothed < self.best * 0.99:
            self.best, self.since_best = self.smoothed, 0
        else:
            self.since_best += 1
            if self.since_best >= self.patience:
                self.scale *= self.factor
                self.drops += 1
                self.since_best = 0
                self.best = self.smoothed


@dataclass
class FitResult:
    """A fitted model and how it got there. ``history``: per stage, a list of (iteration, losses)."""

    model: MultiNeuS
    scene_index: int
    scene: Scene
    cameras_refined: CameraRefinement | None
    history: dict[str, list[tuple[int, dict[str, float]]]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    peak_memory_mb: float = 0.0


def peak_memory_mb() -> float:
    """Peak resident memory of this process (MB); GPU peak added when on CUDA."""
    mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if torch.cuda.is_available():
        mb += torch.cuda.max_memory_allocated() / 2**20
    return mb


def _group_lr(stage: StageConfig, group: dict) -> float:
    """The peak learning rate of one of a stage's parameter groups: the cameras and the head pose at their ratios
    of the stage's rate, the model's weights at the rate itself times the group's ``lr_scale`` (1 unless
    ``FitConfig.scene_lr_by_spread``)."""
    ratio = {"cameras": stage.camera_lr_ratio, "head_pose": stage.head_pose_lr_ratio}.get(group.get("name"), 1.0)
    return stage.lr * ratio * group.get("lr_scale", 1.0)


def spread_lr_scales(model: MultiNeuS, scene_index: int) -> dict[int, float]:
    """``id(coefficients) -> scale`` for each low-rank SDF layer: the mean per-coefficient std of the other scenes'
    rows over that of the first such layer (``FitConfig.scene_lr_by_spread``); empty without low-rank layers."""
    layers = [layer for layer in model.sdf_net.layers if layer.kind == "lowrank"]
    keep = [i for i in range(model.n_scenes) if i != scene_index]
    if not layers or len(keep) < 2:
        return {}
    std = [float(layer.coeffs.detach()[keep].std(0).mean()) for layer in layers]
    return {id(layer.coeffs): s / max(std[0], 1e-12) for layer, s in zip(layers, std)}


def _stage_params(model: MultiNeuS, stage: StageConfig, cam_ref: CameraRefinement | None,
                  lr_scales: dict[int, float] | None = None):
    """Parameter groups of a stage. 'scene' and 'scene+color' stages move only ``scene_index``'s rows of the
    per-scene parameters (the other scenes' gradients are zeroed before each step, see ``_keep_scene_rows``);
    'scene+color' moves the radiance network's shared weights too. A parameter in ``lr_scales`` gets a group of
    its own (same name) whose rate is scaled by its value."""
    groups = []
    if stage.model_params == "all":
        groups.append({"params": list(model.parameters()), "lr": stage.lr, "name": "model"})
    elif stage.model_params == "scene":
        groups.append({"params": model.scene_parameters(), "lr": stage.lr, "name": "scene"})
    elif stage.model_params == "scene+color":
        groups.append({"params": model.scene_parameters() + model.shared_color_parameters(), "lr": stage.lr,
                       "name": "scene+color"})
    if stage.moves_cameras and cam_ref is not None:
        groups.append({"params": cam_ref.camera_parameters(), "lr": _group_lr(stage, {"name": "cameras"}),
                       "name": "cameras"})
        if stage.head_pose_lr_ratio > 0:
            groups.append({"params": cam_ref.head_parameters(), "lr": _group_lr(stage, {"name": "head_pose"}),
                           "name": "head_pose"})
    if lr_scales:
        split = []
        for g in groups:
            split.append({**g, "params": [p for p in g["params"] if id(p) not in lr_scales]})
            for p in g["params"]:
                if id(p) in lr_scales:
                    one = {**g, "params": [p], "lr_scale": lr_scales[id(p)]}
                    split.append({**one, "lr": _group_lr(stage, one)})
        groups = split
    return groups


@dataclass
class _Run:
    """What every step of a fit shares: the model and the scene being fitted, the camera refinement, the
    pixel sampler, the random generator, the loss history and where checkpoints go."""

    scene: Scene
    cfg: FitConfig
    model: MultiNeuS
    scene_index: int
    cam_ref: CameraRefinement | None
    K0: torch.Tensor
    c2w0: torch.Tensor
    sampler: PixelSampler
    gen: torch.Generator
    history: dict[str, list]
    ckpt_path: Path | None
    device: str
    coeff_prior: CoefficientPrior | None = None
    subspace: CoefficientSubspace | None = None
    anchor: torch.Tensor | None = None
    """(n, 3) unit-frame points on the landmark-fitted face (``LossConfig.face_anchor``), or None"""
    lr_scales: dict[int, float] | None = None
    """``id(parameter) -> rate scale``: ``spread_lr_scales`` when ``FitConfig.scene_lr_by_spread``, and the SH lighting
    at ``FitConfig.light_lr_ratio`` on a shaded model; else None"""

    def save(self, opt, stage_index: int, iteration: int, plateau: "Plateau",
             ema: list[torch.Tensor] | None = None) -> None:
        """A checkpoint; ``ema``: the running stage's moving average of its parameters (``StageConfig.ema``)."""
        if self.ckpt_path is not None:
            _save(self.ckpt_path, self.model, opt, self.cam_ref, self.gen, self.cfg, self.scene, self.scene_index,
                  stage_index, iteration, self.history, plateau, ema)


def run_stages(scene: Scene, cfg: FitConfig, model: MultiNeuS | None = None, scene_index: int | None = None,
               out_dir: str | Path | None = None, resume: bool = False, progress: bool = True,
               device: str = "cpu", callback=None, on_stage_end=None, anchor=None) -> FitResult:
    """Fit the SDF + radiance of ``scene`` following ``cfg.stages``.

    model: an existing (prior) model; None builds a fresh one from ``cfg.model`` (from scratch).
    anchor: (n, 3) unit-frame points on the landmark-fitted face, pulled onto the surface with weight
    ``cfg.loss.face_anchor`` (None or weight 0: no anchor).
    scene_index: which scene of ``model`` is fitted (default: the last). out_dir: where the checkpoint
    goes (none written when None). resume: continue from ``out_dir``'s checkpoint.
    callback(stage, iteration, logs) runs after every step; on_stage_end(stage, model) after each stage.
    Steps: ``_start`` (model, cameras, sampler) → ``_resume`` → ``_run_stage`` per stage (``_step`` per
    iteration) → ``FitResult``.
    """
    from tqdm.auto import tqdm

    t_start = time.perf_counter()
    run = _start(scene, cfg, model, scene_index, out_dir, device)
    if anchor is not None and cfg.loss.face_anchor > 0:
        run.anchor = torch.as_tensor(anchor, dtype=torch.float32, device=device)
    ckpt, start_stage, start_it = _resume(run) if resume else (None, 0, 0)
    total_iters = sum(s.iters for s in cfg.stages)
    done_before = sum(s.iters for s in cfg.stages[:start_stage]) + start_it
    bar = tqdm(total=total_iters, initial=done_before, disable=not progress, desc="fit", dynamic_ncols=True)
    timings: dict[str, float] = {}
    for si in range(start_stage, len(cfg.stages)):
        stage = cfg.stages[si]
        t_stage = time.perf_counter()
        resume_from = (ckpt, start_it) if si == start_stage else (None, 0)
        opt = _run_stage(run, si, resume_from, bar, callback)
        timings[stage.name] = time.perf_counter() - t_stage
        if on_stage_end is not None:
            run.model.eval()
            on_stage_end(stage, run.model)
        run.save(opt, si + 1, 0, Plateau(1, 1.0))  # the next stage starts from iteration 0
    bar.close()
    timings["total"] = time.perf_counter() - t_start
    run.model.eval()
    return FitResult(run.model, run.scene_index, scene, run.cam_ref, run.history, timings, peak_memory_mb())


def _start(scene: Scene, cfg: FitConfig, model: MultiNeuS | None, scene_index: int | None,
           out_dir: str | Path | None, device: str) -> _Run:
    """The model on ``device`` (fresh from ``cfg.model`` when None), a zero camera refinement if any stage
    moves the cameras, the scene's pixels as tensors, the seeded generator, the coefficient prior and subspace
    when the config asks for them."""
    gen = torch.Generator().manual_seed(cfg.seed)
    if model is None:
        model = MultiNeuS(cfg.model, n_scenes=1, seed=cfg.seed)
    model = model.to(device)
    refine = any(s.moves_cameras for s in cfg.stages)
    index = model.n_scenes - 1 if scene_index is None else scene_index
    coeff = CoefficientPrior(model, index, cfg.loss.coeff_prior_ridge) if cfg.loss.coeff_prior > 0 else None
    subspace = CoefficientSubspace(model, index, cfg.scene_subspace) if cfg.scene_subspace > 0 else None
    run = _Run(scene, cfg, model, index, CameraRefinement(len(scene)).to(device) if refine else None,
               torch.as_tensor(scene.cameras.K, device=device), torch.as_tensor(scene.cameras.c2w, device=device),
               PixelSampler(scene, device, face_focus(scene, cfg.face_radius) if cfg.face_rays > 0 else None,
                            cfg.face_rays), gen, {s.name: [] for s in cfg.stages},
               Path(out_dir) / CHECKPOINT_NAME if out_dir is not None else None, device, coeff or None, subspace)
    if subspace is not None:
        subspace.project()  # a start away from the mean (landmarks, base) is moved into the subspace too
    if cfg.scene_lr_by_spread:
        run.lr_scales = spread_lr_scales(model, index)
    if model.rgb_net.shaded and cfg.light_lr_ratio != 1.0:
        run.lr_scales = {**(run.lr_scales or {}), id(model.rgb_net.light): cfg.light_lr_ratio}
    return run


def face_focus(scene: Scene, radius: float) -> np.ndarray | None:
    """(n, H, W) bool: the pixels whose ray passes within ``radius`` (unit frame) of the canonical nose tip, for
    a scene placed in the canonical head frame; None for any other scene (its frame knows no face)."""
    from neuhead.data.canonical import reference_unit

    if scene.placement is None or scene.placement.similarity is None:
        return None
    _, h, w = scene.images.shape[:3]
    return pixels_near_point(scene.cameras.K, scene.cameras.c2w, h, w, reference_unit("nose_tip"), radius)


THUMBNAIL_PX = 16
"""side of the per-view grey thumbnails a checkpoint keeps of its input images and masks"""
THUMBNAIL_TOL = 0.02
"""largest difference between two thumbnails (in [0, 1]) still taken for the same input"""


def input_signature(scene: Scene) -> dict:
    """What a fit's checkpoint records of the scene it fits (JSON): the views' names and size, the cameras,
    ``to_world``, and a ``THUMBNAIL_PX``² grey thumbnail of every image and mask (block means), so a resume
    on another input (another photo, ``--fov``, ``--mask``, ``--views``, ``--frame``) is refused."""
    def thumb(a: np.ndarray) -> list:  # (n, H, W) -> (n, t, t) block means, H and W cut to multiples of t
        n, h, w = a.shape
        t = min(THUMBNAIL_PX, h, w)
        a = a[:, : h // t * t, : w // t * t].reshape(n, t, h // t, t, w // t).mean(axis=(2, 4))
        return np.round(a, 4).tolist()

    cams = scene.cameras
    return {
        "names": list(scene.names), "size": [scene.width, scene.height],
        "K": np.asarray(cams.K, np.float64).tolist(), "c2w": np.asarray(cams.c2w, np.float64).tolist(),
        "to_world": np.asarray(scene.to_world, np.float64).tolist(),
        "images": thumb(scene.images.mean(axis=-1)),
        "masks": None if scene.masks is None else thumb(scene.masks),
    }


def _leaves(d, prefix: str = "") -> dict:
    """A nested JSON value flattened to {"a.b.0": leaf}."""
    if isinstance(d, dict):
        return {k: v for key, val in d.items() for k, v in _leaves(val, f"{prefix}{key}.").items()}
    if isinstance(d, list) and any(isinstance(v, (dict, list)) for v in d):
        return {k: v for i, val in enumerate(d) for k, v in _leaves(val, f"{prefix}{i}.").items()}
    return {prefix[:-1]: d}


def _input_mismatch(was: dict, now: dict) -> str | None:
    """How two ``input_signature`` records differ (cameras to 1e-6 of their scale, thumbnails to
    ``THUMBNAIL_TOL``), or None."""
    if was["names"] != now["names"] or was["size"] != now["size"]:
        return (f"it fitted {len(was['names'])} view(s) of {was['size'][0]}x{was['size'][1]} px "
                f"({', '.join(was['names'][:4])}), this input has {len(now['names'])} of "
                f"{now['size'][0]}x{now['size'][1]} px ({', '.join(now['names'][:4])})")

    def differs(key: str, tol: float) -> bool:
        a, b = was[key], now[key]
        if a is None or b is None:
            return (a is None) != (b is None)
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return a.shape != b.shape or not np.allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max())))

    if differs("K", 1e-6) or differs("c2w", 1e-6):
        return "the cameras differ (another photo field of view --fov, other --views, or the scene's cameras changed)"
    if differs("to_world", 1e-6):
        return "the frame differs (--frame, or the scene's scale_mat changed)"
    if differs("images", THUMBNAIL_TOL):
        return "the images differ"
    if differs("masks", THUMBNAIL_TOL):
        return "the masks differ (--mask, or the scene's mask/ folder changed)"
    return None


def resume_mismatch(meta: dict, scene: Scene, cfg: FitConfig) -> str | None:
    """Why a checkpoint's ``meta`` cannot continue fitting ``scene`` with ``cfg``, or None when it can.

    The input must match ``input_signature`` (``_input_mismatch``; a checkpoint written before the signature
    existed is checked on its config only), then the config on every field both have (a field added since the
    checkpoint was written is not held against it). The input goes first: with another number of views the
    stages differ too (``config.for_views``), and the views are what the user changed."""
    import json

    if "input" in meta and (why := _input_mismatch(meta["input"], input_signature(scene))) is not None:
        return why
    old, new = _leaves(meta.get("config", {})), _leaves(json.loads(json.dumps(to_dict(cfg))))
    changed = [k for k in sorted(old.keys() & new.keys()) if old[k] != new[k]]
    if changed:
        shown = ", ".join(f"{k} {old[k]!r} -> {new[k]!r}" for k in changed[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        return f"the fit's settings differ ({shown}{more}; --preset, --iters or --seed changed?)"
    return None


def check_resume(path: str | Path, scene: Scene, cfg: FitConfig, meta: dict | None = None) -> None:
    """``InputError`` naming the checkpoint at ``path`` (its ``meta`` if already read) when it cannot continue
    fitting ``scene`` with ``cfg`` (``resume_mismatch``); nothing when there is no checkpoint there."""
    path = Path(path)
    if meta is None:
        if not path.is_file():
            return
        meta = load_checkpoint(path).meta
    if (why := resume_mismatch(meta, scene, cfg)) is not None:
        raise InputError(f"{path}: cannot resume: {why}; fit without --resume or into another --out")


def _resume(run: _Run) -> tuple[Checkpoint | None, int, int]:
    """Weights, cameras, generator and history from the run's checkpoint; (checkpoint, stage, iteration).
    ``InputError`` naming the checkpoint when it was written for another input or other settings."""
    if run.ckpt_path is None or not run.ckpt_path.is_file():
        return None, 0, 0
    ckpt = load_checkpoint(run.ckpt_path)
    check_resume(run.ckpt_path, run.scene, run.cfg, ckpt.meta)
    run.model.load_state_dict(ckpt.model_state())
    if run.cam_ref is not None and ckpt.prefixed("cameras."):
        run.cam_ref.load_state_dict(ckpt.prefixed("cameras."))
    if "rng" in ckpt.tensors:  # absent from a finished run's final checkpoint (weights only)
        run.gen.set_state(ckpt.tensors["rng"])
    run.history.update({k: [tuple(e) for e in v] for k, v in ckpt.meta["history"].items()})
    stage, it = ckpt.meta["stage"], ckpt.meta["iteration"]
    log.info("resuming %s at stage %d iteration %d", run.ckpt_path, stage, it)
    return ckpt, stage, it


def _run_stage(run: _Run, si: int, resume_from: tuple[Checkpoint | None, int], bar, callback):
    """One stage's iterations (from ``resume_from``'s iteration), with its schedule, early stop and
    checkpoints. Returns the stage's optimizer (for the end-of-stage checkpoint)."""
    stage = run.cfg.stages[si]
    opt = torch.optim.Adam(_stage_params(run.model, stage, run.cam_ref, run.lr_scales), lr=stage.lr)
    plateau = Plateau(stage.plateau_patience, stage.plateau_factor)
    ckpt, it = resume_from
    moving = [p for g in opt.param_groups for p in g["params"]]
    ema = [p.detach().clone() for p in moving] if stage.ema > 0 else None
    if ckpt is not None and it > 0:
        load_optimizer(opt, ckpt)
        plateau = Plateau(**ckpt.meta["plateau"])
        if ema is not None:
            ema = [ckpt.tensors[f"ema.{i}"].to(p) for i, p in enumerate(moving)]
    fns = model_fns(run.model, run.scene_index)
    run.model.train()
    while it < stage.iters:
        logs = _step(run, stage, opt, fns, lr_factor(stage, it, plateau.scale), it)
        it += 1
        if ema is not None:
            with torch.no_grad():
                for a, p in zip(ema, moving):
                    a.lerp_(p.detach(), 1.0 - stage.ema)
        if stage.schedule == "plateau":
            plateau.update(logs["total"])
        bar.update(1)
        if it % 10 == 0 or it == stage.iters:
            bar.set_postfix(stage=stage.name, loss=f"{logs['total']:.4f}", psnr=f"{logs['psnr']:.1f}")
            run.history[stage.name].append((it, logs))
        if callback is not None:
            callback(stage, it, logs)
        stop = stage.schedule == "plateau" and plateau.drops >= stage.early_stop_drops
        if it % run.cfg.checkpoint_every == 0 or it == stage.iters or stop:
            run.save(opt, si, it, plateau, ema)
        if stop:
            log.info("stage %s: early stop at iteration %d (loss plateau)", stage.name, it)
            break
    if ema is not None:  # the stage ends at the average of its last iterates
        with torch.no_grad():
            for p, a in zip(moving, ema):
                p.copy_(a)
    return opt


def _step(run: _Run, stage: StageConfig, opt, fns, lr_scale: float, it: int) -> dict[str, float]:
    """One optimisation step: learning rates, a ray batch at the (refined) cameras, its loss, backward
    (other scenes' rows masked in scene-only stages), Adam."""
    cfg = run.cfg
    for g in opt.param_groups:
        g["lr"] = _group_lr(stage, g) * lr_scale
    cam, u, v, rgb, mask = run.sampler.sample(cfg.batch_rays, run.gen)
    K, c2w = run.cam_ref(run.K0, run.c2w0) if run.cam_ref is not None else (run.K0, run.c2w0)
    rays = make_rays(K, c2w, cam, u, v)
    bg = background_color(cfg.render.background, len(cam), run.gen, device=run.device) if mask is not None else None
    anneal = 1.0 if stage.cos_anneal_end <= 0 else min(1.0, it / stage.cos_anneal_end)
    loss, logs = ray_batch_loss(fns, rays, rgb, mask, cfg.render, cfg.loss, run.gen, anneal=anneal, bg=bg)
    if run.cam_ref is not None and stage.moves_cameras:
        loss = loss + cfg.focal_penalty * (run.cam_ref.log_focal ** 2).sum()
    if run.coeff_prior is not None and stage.moves_geometry:
        term = run.coeff_prior() * cfg.loss.coeff_prior
        loss = loss + term
        logs["coeff_prior"] = float(term.detach())
        logs["total"] += logs["coeff_prior"]
    if run.anchor is not None and stage.moves_geometry:
        pick = torch.randint(len(run.anchor), (cfg.loss.face_anchor_points,), generator=run.gen).to(run.device)
        term = cfg.loss.face_anchor * run.model.sdf(run.anchor[pick], run.scene_index).abs().mean()
        loss = loss + term
        logs["face_anchor"] = float(term.detach())
        logs["total"] += logs["face_anchor"]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if stage.scene_rows_only:
        _keep_scene_rows(run.model, run.scene_index)
    opt.step()
    if run.subspace is not None and stage.scene_rows_only:
        run.subspace.project()
    return logs


def init_scene_to_base(model: MultiNeuS, scene_index: int, iters: int = 400, seed: int = 0,
                       points: int = 4096, band: float = 0.03, lr: float = 1e-3) -> float:
    """Regress ``scene_index``'s own SDF parameters so that the network reproduces the model's base SDF
    (``net(x) - (|x| - r) = 0``: the scene is the base head, the ICT neutral): L1 of ``sdf - base`` at points
    within ``band`` of the base surface, Adam on that scene's rows only. Returns the final mean |error| (unit
    frame). The radiance and the other scenes are not changed."""
    base = model.sdf_net.base
    if base is None:
        raise ValueError("scene_init='base' needs a prior with a base SDF (ModelConfig.base_sdf)")

    def batch(gen):
        x = base.near_surface(points, band, gen)
        with torch.no_grad():
            return x, base(x)

    return _regress_scene(model, scene_index, batch, iters, seed, lr)


def init_scene_to_shape(model: MultiNeuS, scene_index: int, shape, iters: int = 400, seed: int = 0,
                        points: int = 4096, band: float = 0.03, lr: float = 1e-3, keep_weight: float = 1.0) -> float:
    """Regress ``scene_index``'s own SDF parameters so that its face is ``shape``'s (a
    ``neuhead.data.face_shape.FaceShape``, fitted to the detected landmarks) and the rest stays where it is.

    Per step: ``points`` surface points of the shape's face (``shape.face_faces``) moved a uniform offset
    ``d`` in [-band, band] along the face normal, target ``d`` (the signed distance near a surface); as many
    points near the model's base surface (the ICT neutral) but away from that face, target the scene's own
    starting SDF (the mean head's hair, ears and back are kept), weighted ``keep_weight``. L1, Adam on that
    scene's rows only. Returns the final face mean |error| (unit frame)."""
    base = model.sdf_net.base
    if base is None:
        raise ValueError("scene_init='landmarks' needs a prior with a base SDF (ModelConfig.base_sdf)")
    gen = torch.Generator().manual_seed(seed)
    face, _ = shape.sample_face(8 * points, gen)
    lo, hi = face.min(0).values, face.max(0).values
    margin = 0.05  # base-surface points closer than this (10 mm) to the face's box are the face's
    pool = base.near_surface(8 * points, band, gen)
    away = ((pool < lo - margin) | (pool > hi + margin)).any(1)
    keep_x = pool[away]
    with torch.no_grad():
        keep_t = model.sdf(keep_x, scene_index).squeeze(-1)
    face_err = [float("nan")]

    def batch(g):
        p, n = shape.sample_face(points, g)
        d = (torch.rand(points, generator=g) * 2 - 1) * band
        k = torch.randint(len(keep_x), (points,), generator=g)
        return torch.cat([p + d[:, None] * n, keep_x[k]]), torch.cat([d, keep_t[k]])

    def loss_fn(pred, target):
        e = (pred - target).abs()
        face_err[0] = float(e[:points].mean().detach())
        return e[:points].mean() + keep_weight * e[points:].mean()

    _regress_scene(model, scene_index, batch, iters, seed, lr, loss_fn)
    return face_err[0]


def _regress_scene(model: MultiNeuS, scene_index: int, batch, iters: int, seed: int, lr: float, loss_fn=None) -> float:
    """Adam on ``scene_index``'s own rows so that its SDF fits ``batch(generator) -> (points, target)``
    (L1, or ``loss_fn(pred, target)``); returns the last loss."""
    gen = torch.Generator().manual_seed(seed)
    # Adam on every scene's rows with the other rows' gradients zeroed: their moments stay 0, so they do not move
    opt = torch.optim.Adam(model.scene_parameters(), lr=lr)
    err = float("nan")
    for _ in range(iters):
        x, target = batch(gen)
        pred = model.sdf(x, scene_index).squeeze(-1)
        loss = (pred - target).abs().mean() if loss_fn is None else loss_fn(pred, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        _keep_scene_rows(model, scene_index)
        opt.step()
        err = float(loss.detach())
    model.zero_grad(set_to_none=True)
    return err


def _keep_scene_rows(model: MultiNeuS, scene_index: int) -> None:
    """Zero the gradient of every other scene's rows of the per-scene parameters (scene-only stages)."""
    for p in model.scene_parameters():
        if p.grad is not None:
            keep = p.grad[scene_index].clone()
            p.grad.zero_()
            p.grad[scene_index] = keep


def fitted_to_world(scene: Scene, cam_ref: CameraRefinement | None) -> np.ndarray:
    """The fitted frame's unit -> world map: the scene's ``to_world``, with the head pose undone (the head pose
    moved every camera about the head, so the head, not the input's cameras, moved in the world)."""
    to_world = np.asarray(scene.to_world, dtype=np.float64)
    return to_world if cam_ref is None else to_world @ np.linalg.inv(cam_ref.head_pose())


def _save(path, model, opt, cam_ref, gen, cfg, scene, scene_index, stage, iteration, history, plateau,
          ema: list[torch.Tensor] | None = None) -> None:
    opt_t, opt_meta = optimizer_tensors(opt)
    extra = dict(opt_t)
    extra["rng"] = gen.get_state()
    extra.update({f"ema.{i}": a.detach().clone() for i, a in enumerate(ema or [])})
    if cam_ref is not None:
        extra.update({f"cameras.{k}": v.detach().clone() for k, v in cam_ref.state_dict().items()})
    meta = {
        "kind": "fit",
        "config": to_dict(cfg),
        "n_scenes": model.n_scenes,
        "scene_index": scene_index,
        "to_world": fitted_to_world(scene, cam_ref).tolist(),
        "world_units": scene.units,
        "stage": stage,
        "iteration": iteration,
        "history": history,
        "optim": opt_meta,
        "plateau": plateau.state(),
        "image_size": [scene.width, scene.height],
        "input": input_signature(scene),
    }
    save_checkpoint(path, model, meta, extra)

"""Meta-learning a Multi-NeuS prior over many scenes, single-process or distributed.

Each iteration (on each rank) draws ONE scene and rays from up to ``views_per_step`` of its images.
Under ``torch.distributed`` (gloo on CPU, NCCL on GPU) every rank draws its own scene; gradients are
summed across ranks, shared ones averaged, each scene's own rows averaged over the ranks that used that
scene; every rank then applies the same lazy Adam step to the shared weights and to the scenes used,
so all replicas stay identical (each scene's rows move only with the gradient of the rank(s) that used it).

With ``cfg.geometry_iters > 0`` (synthetic scenes, whose exact geometry is known) the rendering
iterations are preceded by a geometry-and-colour phase: each step draws one scene and regresses, through
the same network and the same scene-specific layers, the clamped SDF at near-surface and uniform points,
zero SDF, the true normal (1 - cos) and the rendered colour at surface points, plus the eikonal term
(``geometry_loss``). No volume rendering, so a step costs a few milliseconds. The rendering phase then
starts with a fresh lazy Adam (and, optionally, every scene's variance set to ``render_init_variance``)
and adapts the radiance field and the variance to volume rendering, optionally keeping a fraction of the
geometry loss. One iteration counter runs through both phases.

Checkpoints (single safetensors file, atomic replace) hold weights, optimizer, generator states and
progress; ``resume`` continues exactly. A JSONL loss log and a PNG plot sit beside them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from neuhead.config import GeometryLossConfig, MetaConfig, to_dict
from neuhead.data.canonical import reference_unit
from neuhead.data.scene import Scene
from neuhead.model.multineus import MultiNeuS
from neuhead.model.scene_linear import MEAN_SCENE
from neuhead.render import background_color, model_fns
from neuhead.train.checkpoint import load_checkpoint, save_checkpoint
from neuhead.train.fit import PixelSampler, Plateau, make_rays, peak_memory_mb, ray_batch_loss
from neuhead.train.lazy_adam import LazyAdam

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "meta.safetensors"
LOG_NAME = "loss_log.jsonl"


@dataclass
class MetaResult:
    model: MultiNeuS
    iterations: int
    seconds: float
    steps_per_second: float
    scene_losses: dict[int, float]
    peak_memory_mb: float


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _reduce_gradients(model: MultiNeuS, scenes_all: list[int], scene_params: list[torch.nn.Parameter]) -> None:
    """Sum gradients over ranks; average shared ones by world size and scene rows by their user count."""
    _, world = _world()
    if world == 1:
        return
    scene_ids = {id(p) for p in scene_params}
    counts = torch.bincount(torch.tensor(scenes_all), minlength=model.n_scenes).clamp_min(1)
    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        if id(p) in scene_ids:
            p.grad /= counts.to(p.grad.dtype).view(-1, *([1] * (p.grad.dim() - 1)))
        else:
            p.grad /= world


def _gather_scene(scene: int) -> list[int]:
    _, world = _world()
    if world == 1:
        return [scene]
    t = torch.tensor([scene])
    out = [torch.zeros_like(t) for _ in range(world)]
    dist.all_gather(out, t)
    return [int(x) for x in out]


def _mean_over_ranks(x: float) -> float:
    _, world = _world()
    if world == 1:
        return x
    t = torch.tensor([x], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t) / world


class GeometrySampler:
    """One scene's geometry samples (``neuhead.data.synthetic.geometry.GeometrySamples``) as tensors."""

    def __init__(self, g, device: str | torch.device = "cpu") -> None:
        t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)  # noqa: E731
        self.points, self.sdf = t(g.points), t(g.sdf)
        self.surface, self.normals, self.color = t(g.surface), t(g.normals), t(g.color)
        self.mm_per_unit = float(g.mm_per_unit)
        self.light_sh = None if g.light_sh is None else t(g.light_sh)

    def sample(self, n_points: int, n_surface: int, generator: torch.Generator):
        """(points (n, 3), sdf (n,), surface (k, 3), normals (k, 3), colour (k, 3)), drawn with replacement."""
        i = torch.randint(0, len(self.points), (n_points,), generator=generator).to(self.points.device)
        j = torch.randint(0, len(self.surface), (n_surface,), generator=generator).to(self.points.device)
        return self.points[i], self.sdf[i], self.surface[j], self.normals[j], self.color[j]


@torch.no_grad()
def _start_lights(model: MultiNeuS, geo: list[GeometrySampler]) -> None:
    """A shaded model's training scenes start at their own lights (``GeometrySamples.light_sh``: exact, shadows
    aside), so the albedo network has no shading to learn; a scene without one keeps E = 1. The lights then move
    with the rest of the scene's rows."""
    for s, g in enumerate(geo):
        if g.light_sh is not None:
            model.rgb_net.light[s] = g.light_sh


def geometry_loss(model: MultiNeuS, scene: int, batch, cfg: GeometryLossConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """3D-supervised loss of one scene on a ``GeometrySampler.sample`` batch.

    With f the SDF network, c the radiance network, points x_i with true SDF d_i and surface points
    y_j with true normal n_j and colour k_j:
    ``sdf * mean|clamp(f(x_i)) - clamp(d_i)| + surface * mean|f(y_j)| + normal * mean |grad f(y_j) - n_j|``
    ``+ eikonal * mean over x, y of (|grad f| - 1)^2 + color * mean|c(y_j, grad f(y_j), feature(y_j)) - k_j|``,
    plus the optional regularisers ``code_reg`` and ``mean_anchor`` (``GeometryLossConfig``).
    The normal term compares the gradient vector itself (IGR), not only its direction: with a direction-only
    term and a strong surface term the network flattens the field near the surface (|grad f| ~ 0.2 measured),
    which no longer renders like a distance. The colour network sees the SDF gradient as its normal input,
    exactly as in volume rendering.
    """
    x, d, y, n, k = batch
    m = len(x)
    pts = torch.cat([x, y])
    sdf, feat, grad = model.sdf_features_gradient(pts, scene, create_graph=True)
    c = cfg.sdf_clamp
    tip = torch.as_tensor(reference_unit("nose_tip"), dtype=pts.dtype, device=pts.device)
    w = 1.0 + cfg.face_weight * ((pts - tip).norm(dim=-1) < cfg.face_radius).to(pts.dtype)
    wx, wy = w[:m] / w[:m].mean(), w[m:] / w[m:].mean()  # weighted means; all ones when face_weight = 0
    parts = {
        "sdf": ((sdf[:m].clamp(-c, c) - d.clamp(-c, c)).abs() * wx).mean() * cfg.sdf,
        "surface": (sdf[m:].abs() * wy).mean() * cfg.surface,
        "normal": ((grad[m:] - n).norm(dim=-1) * wy).mean() * cfg.normal,
        "eikonal": ((grad.norm(dim=-1) - 1) ** 2).mean() * cfg.eikonal,
    }
    rgb = model.color(y, grad[m:], feat[m:], -n, scene)
    parts["gcolor"] = (rgb - k).abs().mean() * cfg.color
    if cfg.code_reg > 0:
        dev = sum(layer.relative_deviation(scene) for layer in model.sdf_net.layers if layer.kind != "shared")
        parts["code"] = dev * cfg.code_reg
    if cfg.mean_anchor > 0:
        base = model.sdf_net.base
        if base is None:
            raise ValueError("geometry_loss: mean_anchor needs a model with a base SDF")
        near_face = (d.abs() < cfg.anchor_band) & ((x - tip).norm(dim=-1) < cfg.face_radius)
        xa = x[near_face]
        if len(xa):
            parts["anchor"] = (model.sdf(xa, MEAN_SCENE) - base(xa)).abs().mean() * cfg.mean_anchor
    total = sum(parts.values())
    logs = {key: float(v.detach()) for key, v in parts.items()}
    logs["total"] = float(total.detach())
    near = d.abs() < c
    err = (sdf[:m].detach() - d).abs()
    # unweighted, unit-sphere units: SDF error where it is not clamped, and |f| on the true surface
    logs["sdf_l1"] = float(err[near].mean()) if bool(near.any()) else float("nan")
    logs["surface_l1"] = float(sdf[m:].detach().abs().mean())
    logs["psnr"] = float(-10 * torch.log10(((rgb.detach() - k) ** 2).mean() + 1e-10))
    return total, logs


def _lazy_step(model: MultiNeuS, opt, loss: torch.Tensor, scene: int, total: float) -> float:
    """Backward, gradients averaged over the ranks (the batch's scenes only), a lazy Adam step on the scenes
    seen; returns the loss averaged over the ranks. Shared by the geometry and rendering phases."""
    opt.zero_grad()
    loss.backward()
    used = _gather_scene(scene)
    _reduce_gradients(model, used, opt.scene)
    opt.step(used)
    return _mean_over_ranks(total)


def meta_train(scenes: list[Scene], cfg: MetaConfig, out_dir: str | Path, resume: bool = False,
               progress: bool = True, device: str = "cpu", callback=None, geometry=None) -> MetaResult:
    """Meta-learn ``MultiNeuS(n_scenes=len(scenes))`` on ``scenes``; checkpoints in ``out_dir``.

    geometry: one ``GeometrySamples`` per scene (same order), needed when ``cfg.geometry_iters > 0``.
    The run is ``cfg.geometry_iters`` geometry steps, then ``cfg.iters`` rendering steps.
    """
    from tqdm.auto import tqdm

    rank, world = _world()
    out_dir = Path(out_dir)
    n_geo = int(cfg.geometry_iters)
    if n_geo > 0 and (geometry is None or len(geometry) != len(scenes)):
        raise ValueError(f"meta_train: geometry_iters={n_geo} needs one GeometrySamples per scene "
                         f"({len(scenes)}), got {None if geometry is None else len(geometry)}")
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
    model = MultiNeuS(cfg.model, n_scenes=len(scenes), background=cfg.background_field, seed=cfg.seed).to(device)
    names = {id(p): n for n, p in model.named_parameters()}
    opt = LazyAdam(model.shared_parameters(), model.scene_parameters(), cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed + 1000 * rank)
    plateau = Plateau(cfg.plateau_patience, cfg.plateau_factor)
    samplers = [PixelSampler(s, device) for s in scenes]
    geo = [GeometrySampler(g, device) for g in geometry] if geometry is not None else None
    cams = [(torch.as_tensor(s.cameras.K, device=device), torch.as_tensor(s.cameras.c2w, device=device)) for s in scenes]
    scene_loss = {i: float("nan") for i in range(len(scenes))}
    scene_sdf = {i: float("nan") for i in range(len(scenes))}  # last |f| on the true surface (mm), geometry steps
    ckpt_path = out_dir / CHECKPOINT_NAME
    start = 0
    if model.rgb_net.shaded and geo is not None:
        _start_lights(model, geo)
    if resume and ckpt_path.is_file():
        ck = load_checkpoint(ckpt_path)
        model.load_state_dict(ck.model_state())
        opt.load_tensors(ck.tensors, names)
        gen.set_state(ck.tensors[f"rng.{rank}"] if f"rng.{rank}" in ck.tensors else ck.tensors["rng.0"])
        start = int(ck.meta["iteration"])
        plateau = Plateau(**ck.meta["plateau"])
        scene_loss = {int(k): v for k, v in ck.meta["scene_loss"].items()}
        scene_sdf.update({int(k): v for k, v in ck.meta.get("scene_surface_mm", {}).items()})
        if rank == 0:
            _truncate_log(out_dir / LOG_NAME, start)
        log.info("resuming meta-learning at iteration %d", start)

    total_iters = n_geo + cfg.iters
    bar = tqdm(total=total_iters, initial=start, disable=not progress or rank != 0, desc="meta", dynamic_ncols=True)
    t0 = time.perf_counter()
    it = start
    logf = open(out_dir / LOG_NAME, "a") if rank == 0 else None
    try:
        while it < total_iters:
            if it < n_geo:  # --- geometry-and-colour phase --------------------------------------
                if it < cfg.warmup:
                    f = (it + 1) / cfg.warmup
                else:
                    p = (it - cfg.warmup) / max(1, n_geo - cfg.warmup)
                    a = cfg.geometry_final_lr_ratio
                    f = (math.cos(math.pi * min(p, 1.0)) + 1.0) * 0.5 * (1 - a) + a
                opt.lr = cfg.geometry_lr * f
                s = int(torch.randint(0, len(scenes), (1,), generator=gen))
                batch = geo[s].sample(cfg.geometry_points, cfg.geometry_surface, gen)
                loss, logs = geometry_loss(model, s, batch, cfg.geometry_loss)
                mean_loss = _lazy_step(model, opt, loss, s, logs["total"])
                it += 1
                logs["sdf_mm"] = logs["sdf_l1"] * geo[s].mm_per_unit
                logs["surface_mm"] = logs["surface_l1"] * geo[s].mm_per_unit
                scene_sdf[s] = logs["surface_mm"]
                bar.update(1)
                if logf is not None and (it % cfg.log_every == 0 or it == n_geo):
                    logf.write(json.dumps({"iteration": it, "phase": "geometry", "scene": s, "lr": opt.lr,
                                           "loss": mean_loss, **logs}) + "\n")
                    logf.flush()
                    bar.set_postfix(phase="geo", loss=f"{mean_loss:.4f}", surf_mm=f"{logs['surface_mm']:.2f}",
                                    lr=f"{opt.lr:.1e}")
                if callback is not None:
                    callback(it, logs)
                if it == n_geo:  # switch to rendering: fresh optimizer state and schedule
                    opt = LazyAdam(model.shared_parameters(), model.scene_parameters(), cfg.lr)
                    plateau = Plateau(cfg.plateau_patience, cfg.plateau_factor)
                    if cfg.render_init_variance is not None:
                        with torch.no_grad():
                            model.variance.fill_(cfg.render_init_variance)
                if it % cfg.checkpoint_every == 0 or it == n_geo or it == total_iters:
                    _save(ckpt_path, model, opt, names, gen, cfg, it, plateau, scene_loss, scene_sdf)
                    if rank == 0:
                        plot_log(out_dir / LOG_NAME, out_dir / "loss.png")
                continue
            # --- rendering phase (the paper's loop) ---------------------------------------------------
            r_it = it - n_geo
            f = (r_it + 1) / cfg.warmup if r_it < cfg.warmup else max(plateau.scale, cfg.min_lr_ratio)
            opt.lr = cfg.lr * f
            s = int(torch.randint(0, len(scenes), (1,), generator=gen))
            sampler = samplers[s]
            views = torch.randperm(sampler.n, generator=gen)[: cfg.views_per_step]
            cam, u, v, rgb, mask = sampler.sample(cfg.batch_rays, gen, views)
            rays = make_rays(cams[s][0], cams[s][1], cam, u, v)
            use_mask = mask is not None and not cfg.background_field
            bg = background_color(cfg.render.background, len(cam), gen, device=device) if use_mask else None
            anneal = 1.0 if cfg.cos_anneal_end <= 0 else min(1.0, r_it / cfg.cos_anneal_end)
            # the fit's batch loss; meta-learning keeps the paper's terms (no solid-interior hinges)
            loss, logs = ray_batch_loss(model_fns(model, s, background=cfg.background_field), rays, rgb,
                                        mask if use_mask else None, cfg.render, cfg.loss, gen, anneal=anneal, bg=bg,
                                        solid=False)
            if cfg.render_geometry_weight > 0 and geo is not None:
                batch = geo[s].sample(max(1, cfg.geometry_points // 4), max(1, cfg.geometry_surface // 4), gen)
                g_loss, g_logs = geometry_loss(model, s, batch, cfg.geometry_loss)
                loss = loss + cfg.render_geometry_weight * g_loss
                logs["geometry"] = g_logs["total"] * cfg.render_geometry_weight
                logs["sdf_mm"] = g_logs["sdf_l1"] * geo[s].mm_per_unit
                logs["surface_mm"] = g_logs["surface_l1"] * geo[s].mm_per_unit
                scene_sdf[s] = logs["surface_mm"]
                logs["total"] += logs["geometry"]
            mean_loss = _lazy_step(model, opt, loss, s, logs["total"])
            it += 1
            plateau.update(mean_loss)
            prev = scene_loss[s]
            scene_loss[s] = logs["color"] if math.isnan(prev) else 0.9 * prev + 0.1 * logs["color"]
            bar.update(1)
            if logf is not None and (it % cfg.log_every == 0 or it == total_iters):
                logf.write(json.dumps({"iteration": it, "phase": "render", "scene": s, "lr": opt.lr,
                                       "loss": mean_loss, **logs}) + "\n")
                logf.flush()
                bar.set_postfix(loss=f"{mean_loss:.4f}", psnr=f"{logs['psnr']:.1f}", lr=f"{opt.lr:.1e}")
            if callback is not None:
                callback(it, logs)
            if it % cfg.checkpoint_every == 0 or it == total_iters:
                _save(ckpt_path, model, opt, names, gen, cfg, it, plateau, scene_loss, scene_sdf)
                if rank == 0:
                    plot_log(out_dir / LOG_NAME, out_dir / "loss.png")
    finally:
        if logf is not None:
            logf.close()
        bar.close()
    secs = time.perf_counter() - t0
    return MetaResult(model, it, secs, (it - start) / max(secs, 1e-9), scene_loss, peak_memory_mb())


def _save(path, model, opt, names, gen, cfg, it, plateau, scene_loss, scene_sdf=None) -> None:
    rank, world = _world()
    states = [gen.get_state()]
    if world > 1:
        states = [torch.zeros_like(states[0]) for _ in range(world)]
        dist.all_gather(states, gen.get_state())
    if rank != 0:
        return
    tensors = opt.tensors(names)
    tensors.update({f"rng.{r}": s for r, s in enumerate(states)})
    meta = {
        "kind": "meta",
        "config": to_dict(cfg),
        "n_scenes": model.n_scenes,
        "iteration": it,
        "world_size": world,
        "plateau": plateau.state(),
        "scene_loss": scene_loss,
        "scene_surface_mm": scene_sdf or {},
    }
    save_checkpoint(path, model, meta, tensors)


def _truncate_log(path: Path, iteration: int) -> None:
    """Drop log lines written after the checkpoint we resume from (so the curve continues cleanly)."""
    if not path.is_file():
        return
    keep = [l for l in path.read_text().splitlines() if l.strip() and json.loads(l)["iteration"] <= iteration]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(l + "\n" for l in keep))
    os.replace(tmp, path)


def plot_log(log_path: Path, png: Path) -> None:
    """Loss and PSNR against iteration (smoothed) as a PNG; a dashed line where the geometry phase ends
    (its loss and its PSNR, of the surface colour, are not the rendering phase's)."""
    from matplotlib.figure import Figure  # no pyplot: no global backend switch in library code

    from neuhead.io import atomic_path

    rows = [json.loads(l) for l in log_path.read_text().splitlines() if l.strip()]
    if not rows:
        return
    it = np.array([r["iteration"] for r in rows])
    fig = Figure(figsize=(9, 3.2))
    axes = fig.subplots(1, 2)
    for ax, key in zip(axes, ("loss", "psnr")):
        y = np.array([r[key] for r in rows])
        ax.plot(it, y, lw=0.5, alpha=0.4)
        k = max(1, len(y) // 50)
        ax.plot(it[k - 1:], np.convolve(y, np.ones(k) / k, mode="valid"), lw=1.5)
        switch = [b["iteration"] for a, b in zip(rows, rows[1:]) if a.get("phase", "render") != b.get("phase", "render")]
        for x in switch:  # geometry phase -> rendering phase
            ax.axvline(x, color="k", lw=0.8, ls="--")
        ax.set_xlabel("iteration (geometry phase, then rendering)" if switch else "iteration")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=100)

"""The public Python API: fit a head from a Scene, a scene folder, or photos.

>>> import neuhead
>>> recon = neuhead.fit(["photo.jpg"])                 # one in-the-wild photo, shipped prior
>>> recon.export("head.glb"); recon.sdf(points_mm)
>>> recon = neuhead.fit_scene(neuhead.load_neus("case"), preset="quick", prior=None)  # NeuS baseline
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from neuhead.config import PRIOR_FIT_PRESETS, SCRATCH_PRESETS, FitConfig, scale_iters
from neuhead.data.scene import Scene
from neuhead.reconstruction import Reconstruction


def fit_config(preset: str, prior_model_cfg=None, iters: int | None = None, seed: int = 0,
               stages: Literal["both", "stage1"] = "both") -> FitConfig:
    """The FitConfig of a preset: from scratch when ``prior_model_cfg`` is None, else two-stage fitting
    with the prior's architecture. ``iters`` rescales the budget; ``stages="stage1"`` stops after stage 1."""
    if preset not in SCRATCH_PRESETS:
        raise ValueError(f"unknown preset {preset!r} (quick, paper)")
    if prior_model_cfg is None:
        cfg = SCRATCH_PRESETS[preset]
    else:
        cfg = replace(PRIOR_FIT_PRESETS[preset], model=prior_model_cfg)
        if stages == "stage1":
            cfg = replace(cfg, stages=cfg.stages[:1])
    return replace(scale_iters(cfg, iters), seed=seed)


def fit_scene(scene: Scene, preset: str = "quick", prior: str | Path | None = "default", *,
              iters: int | None = None, seed: int = 0, stages: Literal["both", "stage1"] = "both",
              out_dir: str | Path | None = None, device: str = "cpu", progress: bool = False) -> Reconstruction:
    """Fit one scene. ``prior``: "default" (the shipped prior), a prior folder, or None (from scratch).

    With ``out_dir`` every output file is written (mesh.ply, head.glb, head.obj, report.json, checkpoint);
    without it, nothing is written and the Reconstruction is returned.
    """
    from neuhead.pipeline import fit as fit_one
    from neuhead.pipeline import run_fit
    from neuhead.prior import load_prior

    model = None
    if prior is not None:
        p = load_prior(None if prior == "default" else prior)
        model = p.model
        cfg = fit_config(preset, p.config.model, iters, seed, stages)
    else:
        cfg = fit_config(preset, None, iters, seed)
    if out_dir is not None:
        return run_fit(scene, out_dir, cfg, prior=model, progress=progress, device=device)
    return fit_one(scene, cfg, model, progress=progress, device=device)


def fit(images: str | Path | Sequence[str | Path] | Sequence[np.ndarray], cameras=None, masks=None,
        preset: str = "quick", prior: str | Path | None = "default", views: Sequence[int] | None = None,
        mask: str | Path | None = None, frame: str | None = None, units: str = "mm", fov: float | None = None,
        **kwargs) -> Reconstruction:
    """Fit a head from photos or a scene folder.

    images: a NeuS/IDR or H3DS scene folder (with ``views``), or a list of 1-3 image paths/arrays.
    cameras: ``neuhead.cameras.Cameras`` in the images' world frame (in ``units``), or None (single photo:
    estimated from face landmarks). masks: arrays or mask paths, or None (segmented automatically for a
    photo). frame: "auto" (the canonical head frame found from the images; the default with a prior) or
    "file" (the file's own scale_mat frame; the default with ``prior=None``). fov: a single photo's vertical
    field of view in degrees (default: from its EXIF focal length, else the one that puts the camera 1 m from the head).
    """
    from neuhead.data.load import load_input

    frame = frame or ("file" if prior is None else "auto")
    scene = load_input(images, cameras=cameras, masks=masks, views=views, mask=mask, frame=frame, units=units,
                       fov_y_deg=fov)
    return fit_scene(scene, preset=preset, prior=prior, **kwargs)

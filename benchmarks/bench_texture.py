"""Texture quality of the exported mesh on fresh synthetic heads: photo bake vs field bake vs the field render.

For each head (seeds from ``--seed``, identities not in the prior's training set): one frontal ``portrait``
view at ``--res``² is fitted with the shipped prior (quick preset, the default ``neuhead fit`` budget unless
``--iters``); the surface is meshed and decimated once (``--resolution``, ``--faces``) and baked twice at
``--texture``²: from the photo (the default of ``neuhead fit``) and from the field alone (``--texture-source
field``). Scored with masked PSNR / SSIM (``eval.images``):

- ``input``: the textured mesh rendered at the input view's refined camera vs the input photo;
- ``held-out ±20°``: the mesh at the frontal camera turned ±20° about the head's vertical axis vs the true
  render of that camera (same head, same look, rendered by ``neuhead.data.synthetic``). The fit refines the
  input camera, so the fitted head sits in a frame a little off the true one; as control cameras do in
  Multi-NeuS's novel-view protocol, the held-out cameras get the input camera's correction (its refined pose ∘
  initial pose⁻¹, and its focal ratio) — ``held-out (true camera)`` columns without it are kept in the JSON;
- ``field render``: the radiance field's own volume render of the same cameras.

Every score of a view uses one mask for all three rows: the true mask ∩ the mesh's hit mask ∩ the field's
opacity > 0.5. Also timed: the two bakes and the previews (preview.png, turntable.png/.gif).

    OMP_NUM_THREADS=1 python benchmarks/bench_texture.py --heads 2 --out runs/bench_texture
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def synth_views(seed: int, cams_world, res: int):
    """Images and masks of head ``seed`` (same person and look as ``synthesize(seed, ...)``) at cameras given in
    its world frame (mm), by the generator's own renderer and shading."""
    from neuhead.data.synthetic.appearance import (albedo, albedo_fast, background, sample_appearance, shade,
                                                   vertex_attributes)
    from neuhead.data.synthetic.head import load_head_model, sample_head, vertex_normals
    from neuhead.data.synthetic.render import HeadRenderer
    from neuhead.data.synthetic.scene import SynthConfig

    config = SynthConfig()
    model = load_head_model()
    r_head, r_look, _ = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(3))
    head = sample_head(model, r_head, config.head, hair=True)
    app = sample_appearance(r_look, head)
    attr = vertex_attributes(model, head, app)
    renderer = HeadRenderer(head.vertices, model.faces, vertex_normals(head.vertices, model.faces), config.render)
    vert_albedo = albedo(model, attr, app, hair=False)
    eye_faces = ((attr[:, 7] > 0) | (attr[:, 8] > 0))[model.faces].any(1)
    hair_faces = (attr[:, 3] > 0)[model.faces].any(1) & ~eye_faces

    def shade_fn(tri, bary, pts, nrm, lit):
        return shade(albedo_fast(model, attr, vert_albedo, tri, bary, eye_faces, hair_faces, app), nrm, lit, app)

    out = renderer.render(cams_world, shade_fn, app.light_dir, background(app, res, res))
    return out.images, out.masks


def turned(cams_world, degrees: float, pivot=(0.0, 20.0, 20.0)):
    """The cameras orbited by ``degrees`` about the world's +Y axis through ``pivot`` (mm; the rig's target)."""
    from neuhead.cameras import Cameras

    a = np.radians(degrees)
    R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = np.asarray(pivot) - R @ np.asarray(pivot)
    return Cameras(cams_world.K.copy(), T[None] @ cams_world.c2w, cams_world.width, cams_world.height)


def with_refinement(cams, initial, refined):
    """``cams`` (unit frame) moved by the input camera's refinement: c2w ← refined·initial⁻¹·c2w, f ← f·f_ref/f_init."""
    from neuhead.cameras import Cameras

    D = refined.c2w[0] @ np.linalg.inv(initial.c2w[0])
    K = cams.K.copy()
    K[:, 0, 0] *= refined.K[0, 0, 0] / initial.K[0, 0, 0]
    K[:, 1, 1] *= refined.K[0, 1, 1] / initial.K[0, 1, 1]
    return Cameras(K, D[None] @ cams.c2w, cams.width, cams.height)


def scores(pred, gt, mask) -> dict:
    from eval.images import masked_psnr, masked_ssim

    return {"psnr": masked_psnr(pred, gt, mask), "ssim": masked_ssim(pred, gt, mask), "pixels": int(mask.sum())}


def run_head(seed: int, args, out: Path) -> dict:
    import torch

    from meshing import cleanup
    from meshing.extract import MeshConfig, extract_surface
    from meshing.grid import GridConfig
    from meshing.preview import render_textured
    from meshing.texture import ProjectionConfig, TextureConfig, bake_texture
    from neuhead.api import fit_config
    from neuhead.cameras import Cameras
    from neuhead.data.synthetic.scene import synthesize
    from neuhead.pipeline import fit as fit_one
    from neuhead.preview import write_previews
    from neuhead.prior import load_prior

    sh = synthesize(seed, n_views=1, res=args.res, rig="portrait")
    scene = sh.scene
    prior = load_prior(args.prior)
    cfg = fit_config("quick", prior.config.model, args.iters, seed=0)
    t = time.perf_counter()
    recon = fit_one(scene, cfg, prior.model, checkpoint_dir=out / f"fit_{seed}", resume=args.resume, progress=False)
    fit_s = time.perf_counter() - t

    surf = extract_surface(recon.sdf_fn, MeshConfig(grid=GridConfig(resolution=args.resolution)))
    v, f = cleanup.decimate(surf.vertices, surf.faces, args.faces)
    tex = TextureConfig(size=args.texture)
    t = time.perf_counter()
    proj = ProjectionConfig(**{k: getattr(args, k) for k in ("min_cos", "full_cos", "edge_px") if getattr(args, k) is not None})
    photo = bake_texture(v, f, recon.color_fn, tex, views=recon.photo_views(scene), projection=proj)
    photo_s = time.perf_counter() - t
    t = time.perf_counter()
    field = bake_texture(v, f, recon.color_fn, tex)
    field_s = time.perf_counter() - t
    t = time.perf_counter()
    write_previews(photo, recon.cameras, scene.images, scene.masks, out / f"previews_{seed}")
    previews_s = time.perf_counter() - t
    from PIL import Image

    Image.fromarray(photo.texture).save(out / f"texture_photo_{seed}.png")
    Image.fromarray(field.texture).save(out / f"texture_field_{seed}.png")

    # views: the input (refined camera, unit frame) and the held-out ±20° (true cameras, world -> unit frame)
    world = scene.world_cameras()
    held = [turned(world, d) for d in (-20.0, 20.0)]
    views = [("input", recon.cameras, scene.images[0], scene.masks[0])]
    for d, cams in zip((-20, 20), held):
        imgs, masks = synth_views(seed, cams, args.res)
        unit = cams.transformed(np.linalg.inv(scene.to_world))
        views.append((f"held-out {d:+d}°", with_refinement(unit, scene.cameras, recon.cameras), imgs[0], masks[0]))
        views.append((f"held-out {d:+d}° (true camera)", unit, imgs[0], masks[0]))
    rows = {}
    strips = []
    for name, cams, gt, gt_mask in views:
        K, c2w = cams.K[0], cams.c2w[0]
        renders = {}
        for label, baked in (("photo", photo), ("field", field)):
            um = baked.mesh
            renders[label] = render_textured(um.vertices, um.faces, um.uv, baked.texture, K, c2w, cams.width, cams.height)
        with torch.no_grad():
            fr = recon.render(Cameras(K[None], c2w[None], cams.width, cams.height), 0, world=False)
        mask = (gt_mask > 0.5) & renders["photo"][1] & (fr.opacity > 0.5)
        rows[name] = {"photo bake": scores(renders["photo"][0], gt, mask),
                      "field bake": scores(renders["field"][0], gt, mask),
                      "field render": scores(np.clip(fr.rgb, 0, 1), gt, mask)}
        white = lambda im: np.where(mask[..., None], im, 1.0)  # noqa: E731
        strips.append(np.concatenate([gt, white(renders["photo"][0]), white(renders["field"][0]),
                                      white(np.clip(fr.rgb, 0, 1))], 1))
    Image.fromarray((np.concatenate(strips, 0).clip(0, 1) * 255 + 0.5).astype(np.uint8)).save(
        out / f"compare_{seed}.png")
    return {"seed": seed, "views": rows, "seconds": {"fit": fit_s, "photo_bake": photo_s, "field_bake": field_s,
                                                     "previews": previews_s},
            "photo_fraction": photo.photo_fraction, "faces": int(len(f)), "bake_steps": photo.seconds}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=9_100_000, help="first head seed (fresh identities)")
    ap.add_argument("--res", type=int, default=256, help="image size (the photo loader's crop is 256²)")
    ap.add_argument("--iters", type=int, default=None, help="fit budget (default: neuhead fit's quick budget)")
    ap.add_argument("--resolution", type=int, default=256, help="marching-cubes resolution")
    ap.add_argument("--faces", type=int, default=50_000)
    ap.add_argument("--texture", type=int, default=1024, help="texture size (neuhead fit's default)")
    ap.add_argument("--prior", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_texture"))
    ap.add_argument("--resume", action="store_true", help="reuse the fits already in --out (resume them)")
    for k in ("min_cos", "full_cos", "edge_px"):
        ap.add_argument("--" + k.replace("_", "-"), type=float, default=None, help=f"ProjectionConfig.{k}")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for i in range(args.heads):
        r = run_head(args.seed + i, args, args.out)
        results.append(r)
        print(json.dumps(r, indent=1, default=float), flush=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    names = [n for n in results[0]["views"] if "true camera" not in n]
    print(f"\n{len(results)} fresh synthetic heads (seeds {args.seed}..{args.seed + args.heads - 1}), 1 frontal view "
          f"{args.res}², texture {args.texture}², {args.faces} faces; median masked PSNR dB / SSIM "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print("| | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for row in ("photo bake", "field bake", "field render"):
        cells = []
        for n in names:
            p = statistics.median(r["views"][n][row]["psnr"] for r in results)
            s = statistics.median(r["views"][n][row]["ssim"] for r in results)
            cells.append(f"{p:.1f} / {s:.3f}")
        print(f"| {row} | " + " | ".join(cells) + " |")
    for k in ("fit", "photo_bake", "field_bake", "previews"):
        print(f"{k}: median {statistics.median(r['seconds'][k] for r in results):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

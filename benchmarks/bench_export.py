"""Whole export: hierarchical meshing + decimation + xatlas + texture bake + GLB/OBJ/PLY writes.

    python benchmarks/bench_export.py [--resolution 256] [--faces 50000] [--texture 2048] [--repeats 3]

Same quick-preset-cost fields as bench_meshing.py. Prints the median total and the median of each step.

With ``--run RUN_DIR`` (a `neuhead fit` output with cameras in its checkpoint) it instead bakes that head
and reports the PSNR between the textured mesh rendered from input view ``--view`` and the radiance
field's own volume render of that view (inside both masks), and writes a turntable PNG (``--png``).
That is the field bake (a run folder holds no photos); the photo bake against the photos and held-out true
renders is ``benchmarks/bench_texture.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_meshing import QuickColor, QuickSDF, color_fn, sdf_fn  # noqa: E402

from meshing.export import export_asset  # noqa: E402


def check_run(args) -> int:
    """Bake a fitted head, render the textured mesh from an input camera, compare with the field's render."""
    import numpy as np
    from PIL import Image
    from scipy.ndimage import binary_erosion

    from meshing import cleanup
    from meshing.extract import MeshConfig, extract_surface
    from meshing.grid import GridConfig
    from eval.images import masked_psnr as psnr
    from meshing.preview import render_textured, turntable
    from meshing.texture import TextureConfig, bake_texture
    from neuhead.reconstruction import load_reconstruction

    from meshing.preview import look_at
    from neuhead.cameras import Cameras

    recon = load_reconstruction(args.run)
    if args.inv_s is not None:
        with torch.no_grad():
            recon.model.variance.fill_(float(np.log(args.inv_s) / 10.0))
    print(f"field render at inv_s = {float(recon.model.inv_s(recon.scene_index).detach()):.0f}")
    if recon.cameras is not None:
        cams = recon.cameras.subset([args.view])  # unit-sphere frame
    else:  # an unfinished run: any camera that sees the head compares the bake with the field just as well
        print(f"{args.run}: no cameras in the checkpoint; using a 128² camera at distance 2.5 looking at the origin")
        f = 64 / np.tan(np.radians(20))
        cams = Cameras(np.array([[[f, 0, 64], [0, f, 64], [0, 0, 1.0]]]), look_at([0.6, -0.5, 2.35])[None], 128, 128)
    t = time.perf_counter()
    surf = extract_surface(recon.sdf_fn, MeshConfig(grid=GridConfig(resolution=args.resolution)))
    v, f = cleanup.decimate(surf.vertices, surf.faces, args.faces)
    baked = bake_texture(v, f, recon.color_fn, TextureConfig(size=args.texture))
    print(f"bake: {time.perf_counter() - t:.1f} s ({len(f)} faces, {args.texture}²)")
    um = baked.mesh
    img, hit = render_textured(um.vertices, um.faces, um.uv, baked.texture, cams.K[0], cams.c2w[0],
                               cams.width, cams.height)
    ref = recon.render(cams, 0, world=False)
    both = binary_erosion(hit & (ref.opacity > 0.5), iterations=1)
    print(f"view {args.view} ({cams.width}x{cams.height}): PSNR textured mesh vs field render = "
          f"{psnr(img, ref.rgb, both):.2f} dB over {int(both.sum())} pixels; silhouette IoU "
          f"{(hit & (ref.opacity > 0.5)).sum() / max(1, (hit | (ref.opacity > 0.5)).sum()):.3f}")
    if args.png:
        side = np.concatenate([img, ref.rgb.clip(0, 1)], 1)
        Image.fromarray((side * 255).astype(np.uint8)).save(args.png.with_name(args.png.stem + "_view.png"))
        tt = turntable(um.vertices, um.faces, um.uv, baked.texture, views=8, size=256)
        Image.fromarray((tt.clip(0, 1) * 255).astype(np.uint8)).save(args.png)
        print(f"wrote {args.png} and {args.png.stem}_view.png (textured mesh | field render)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--faces", type=int, default=50_000)
    ap.add_argument("--texture", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--run", type=Path, default=None, help="check the bake of this fitted run instead")
    ap.add_argument("--view", type=int, default=0, help="input view for the --run PSNR check")
    ap.add_argument("--png", type=Path, default=None, help="turntable PNG for --run")
    ap.add_argument("--inv-s", type=float, default=None,
                    help="force the model's NeuS sharpness inv_s for the field render (an untrained model's "
                         "render is a soft blur, not its surface colour)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.run is not None:
        return check_run(args)
    sdf, col = sdf_fn(QuickSDF()), color_fn(QuickColor())
    T = torch.eye(4).numpy() * 110.0
    T[3, 3] = 1.0
    totals, cpus, steps = [], [], {}
    with tempfile.TemporaryDirectory() as d:
        outs = [Path(d) / "head.glb", Path(d) / "head.obj", Path(d) / "head.ply"]
        for i in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            rep = export_asset(sdf, col, T, outs, world_units="mm", resolution=args.resolution, faces=args.faces,
                               texture=args.texture)
            totals.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            for k, v in rep.seconds.items():
                steps.setdefault(k, []).append(v)
            print(f"run {i + 1}: {totals[-1]:.1f} s ({rep.raw_faces:,} -> {rep.faces:,} faces, "
                  f"texture {rep.texture_size}² {100 * rep.texture_coverage:.0f}% covered)", flush=True)
        sizes = {p.name: p.stat().st_size for p in Path(d).iterdir()}
    print(f"export {args.resolution}³ -> {args.faces} faces, {args.texture}² texture, GLB+OBJ+PLY: "
          f"median {statistics.median(totals):.1f} s of {[round(x, 1) for x in totals]} "
          f"(process CPU {statistics.median(cpus):.1f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    for k, v in steps.items():
        print(f"  {k:18s} median {statistics.median(v):6.2f} s")
    print("  files: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

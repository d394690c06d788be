"""How far the photo path's mask is from the truth: a diagnostic that reads the ground truth.

For each fresh synthetic head of the acceptance set (``benchmarks/bench_quality.py``'s train-look renders: seeds
9 000 000 +, odd seeds bald), the frontal render is written as a PNG and read by ``load_photo`` (selfie
segmentation, the neck cut, the crop); the render's true mask is put through the same crop. Printed per head: the
mask's area against the truth, IoU, pixels added (and how far outside the true mask they reach) and pixels missed.
``--no-column`` repeats it without the neck column (``crop.cut_below_neck``, ``half_width_mm=inf``). Nothing here
is used by a fit.

    python scripts/photo_mask_error.py [--heads 6] [--no-column]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--seed", type=int, default=9_000_000)
    ap.add_argument("--no-column", action="store_true", help="without the neck column (the cut below the neck only)")
    a = ap.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_quality import render_head
    from PIL import Image
    from scipy import ndimage

    from neuhead.data import crop, photo
    from neuhead.data.crop import cut_square
    from neuhead.data.h3ds import default_views_configs

    if a.no_column:
        cut = crop.cut_below_neck
        photo.cut_below_neck = lambda m, K, c2w: cut(m, K, c2w, half_width_mm=np.inf)
    tmp = Path(tempfile.mkdtemp(prefix="photo_mask_error_"))
    for seed in range(a.seed, a.seed + a.heads):
        scene, _ = render_head(seed, "train", 24, 256, 512, hair=seed % 2 == 0)
        v = default_views_configs(scene)["1"][0]
        png = tmp / f"{seed}.png"
        Image.fromarray((np.clip(scene.images[v], 0, 1) * 255 + 0.5).astype(np.uint8)).save(png)
        p = photo.load_photo(png)
        x0, y0, side = p.crop_box
        size = p.scene.masks.shape[1]
        true = cut_square(scene.masks[v].astype(np.float32), x0, y0, side, size, pad="zero") > 0.5
        seg = p.scene.masks[0] > 0.5
        extra, missed = seg & ~true, true & ~seg
        reach = ndimage.distance_transform_edt(~true)[extra]
        print(f"{seed} {'hair' if seed % 2 == 0 else 'bald'}: area {seg.sum() / true.sum():.3f} of the truth, "
              f"IoU {(seg & true).sum() / (seg | true).sum():.3f}, added {extra.sum()} px (up to "
              f"{reach.max() if reach.size else 0:.0f} px out), missed {missed.sum()} px")


if __name__ == "__main__":
    main()

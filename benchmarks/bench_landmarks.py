"""Face-landmark accuracy of the single-photo path on rendered synthetic heads (px at the six landmarks).

    python benchmarks/bench_landmarks.py [--seeds 100:132] [--res 256]

Each seed renders one portrait view of a synthetic ICT head (``make_head_scene``, known cameras and
landmarks, not the prior's training identities 0..63), runs ``detect_faces`` + ``canonical_points``
(the photo path) and prints the pixel error of each H3DS landmark against the projected ground truth:
per landmark median / max, overall median / 90th percentile / max, heads without a face, and the
detector's seconds per photo. Used to compare landmark detectors / dependency sets.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="100:132", help="first:last (exclusive) synthetic identities")
    ap.add_argument("--res", type=int, default=256, help="render size (px)")
    a = ap.parse_args()

    from neuhead.data.canonical import LANDMARK_NAMES
    from neuhead.data.photo import canonical_points, detect_faces
    from neuhead.data.synthetic import make_head_scene

    lo, hi = (int(v) for v in a.seeds.split(":"))
    errs, missed, secs = [], [], []
    for seed in range(lo, hi):
        scene, gt = make_head_scene(seed, n_views=1, res=a.res, rig="portrait")
        uv = scene.world_cameras().project(np.stack([gt.landmarks[n] for n in LANDMARK_NAMES]))[0][0]
        t0 = time.perf_counter()
        faces = detect_faces(scene.images[0])
        secs.append(time.perf_counter() - t0)
        if not faces:
            missed.append(seed)
            continue
        errs.append(np.linalg.norm(canonical_points(faces[0]) - uv, axis=1))
    e = np.array(errs)  # (heads, 6) px
    print(f"{len(e)} heads at {a.res}², seeds {lo}..{hi - 1}, no face: {missed or 'none'}")
    for i, n in enumerate(LANDMARK_NAMES):
        print(f"  {n:11s} median {np.median(e[:, i]):5.2f} px  max {e[:, i].max():5.2f} px")
    print(f"all six: median {np.median(e):.2f} px, p90 {np.percentile(e, 90):.2f} px, max {e.max():.2f} px; "
          f"detector {1000 * np.median(secs[1:] or secs):.0f} ms a photo (median)")


if __name__ == "__main__":
    main()

"""Where on the face a fit's H3DS error lies: a diagnostic that reads the ground truth, after the fit.

For each head of a ``benchmarks/bench_quality.py`` run (its ``--out`` folder: ``quality.json`` and the fitted meshes
``head{seed}_{look}_v{views}_full.ply``), the head is rendered and placed again exactly as the benchmark does, and
three meshes are scored by the H3DS protocol of ``bench_quality.evaluate`` (coarse landmark alignment, ICP with scale
on the face, ground-truth vertex -> nearest predicted vertex): the fit, the prior's mean head placed, and the ICT
mean head placed. Each ground-truth vertex of the 95 mm face sphere is then put in a cell by its height above or
below the nose tip (canonical mm) and its yaw about the canonical vertical axis, and each cell prints the mean
distance, the mean *signed* distance (+: the prediction lies outside the true surface, along the true normal;
-: inside) and its share of the face score (the cell's summed distance over all face vertices' summed distance).

    python scripts/face_error_regions.py DIR [--look train] [--views 1] [--prior PRIOR]

It assumes the run used the benchmark's default renders and placement (``--views``, ``--res``, ``--other-res`` and
``--one-view-rotation`` left at their defaults): the heads are rebuilt from the seeds, not read from the run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

#: rows: (name, low, high) of the height above the nose tip, canonical mm (the eyes are ~30 mm above it, the lip
#: corners ~39 mm below)
HEIGHT_BANDS = (("scalp/forehead", 45.0, np.inf), ("brows/eyes", 15.0, 45.0), ("nose/cheeks", -25.0, 15.0),
                ("mouth/chin", -np.inf, -25.0))
#: columns: (name, low, high) of |yaw| in degrees about the canonical vertical axis (0 = straight ahead)
YAW_BANDS = (("front <20", 0.0, 20.0), ("20-40", 20.0, 40.0), ("side >40", 40.0, 180.01))


def signed_distances(gt_vertices: np.ndarray, gt_normals: np.ndarray, pred_vertices: np.ndarray) -> np.ndarray:
    """Ground-truth vertex -> nearest predicted vertex, signed + where that vertex lies on the normal's side."""
    from scipy.spatial import cKDTree

    d, j = cKDTree(pred_vertices).query(gt_vertices)
    side = np.einsum("ij,ij->i", pred_vertices[j] - gt_vertices, gt_normals)
    return np.where(side >= 0, d, -d)


def region_cells(height_mm: np.ndarray, yaw_deg: np.ndarray, signed: np.ndarray) -> dict[tuple[str, str], dict]:
    """Per (height band, yaw band) cell: ``n`` vertices, ``sum`` of |distance|, ``signed_sum``; empty cells left out."""
    cells = {}
    for hname, hlo, hhi in HEIGHT_BANDS:
        for yname, ylo, yhi in YAW_BANDS:
            sel = (height_mm >= hlo) & (height_mm < hhi) & (np.abs(yaw_deg) >= ylo) & (np.abs(yaw_deg) < yhi)
            if sel.any():
                cells[(hname, yname)] = {"n": int(sel.sum()), "sum": float(np.abs(signed[sel]).sum()),
                                         "signed_sum": float(signed[sel].sum())}
    return cells


def merge_cells(per_head: list[dict]) -> dict:
    """The cells of several heads added up (means over every vertex of every head)."""
    out: dict = {}
    for cells in per_head:
        for key, c in cells.items():
            acc = out.setdefault(key, {"n": 0, "sum": 0.0, "signed_sum": 0.0})
            for k in acc:
                acc[k] += c[k]
    return out


def format_cells(cells: dict) -> str:
    """Table: mean / signed mean / share of the summed face error per cell."""
    total = sum(c["sum"] for c in cells.values()) or 1.0
    lines = [f"{'':16s}" + "".join(f"{y:>26s}" for y, *_ in YAW_BANDS)]
    for hname, *_ in HEIGHT_BANDS:
        row = f"{hname:16s}"
        for yname, *_ in YAW_BANDS:
            c = cells.get((hname, yname))
            row += f"{'':>26s}" if c is None else \
                f"{c['sum'] / c['n']:8.2f} {c['signed_sum'] / c['n']:+6.2f} {100 * c['sum'] / total:5.1f} %    "
        lines.append(row)
    return "\n".join(lines)


def canonical_mm(points: np.ndarray, unit_to_world: np.ndarray) -> np.ndarray:
    """World points -> the canonical mm frame, given the ground truth's unit -> world matrix."""
    from eval.align import apply_matrix
    from neuhead.data.canonical import CANONICAL_TO_WORLD

    return apply_matrix(CANONICAL_TO_WORLD @ np.linalg.inv(unit_to_world), points)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, help="a bench_quality.py --out folder")
    ap.add_argument("--look", default="train", choices=("train", "other"))
    ap.add_argument("--views", default="1", choices=("1", "3"))
    ap.add_argument("--prior", default=None, help="the prior the benchmark ran (default: shipped)")
    a = ap.parse_args()
    qfile = a.dir / "quality.json"
    if not qfile.is_file():
        raise SystemExit(f"{qfile}: not found (DIR is a benchmarks/bench_quality.py --out folder)")
    rows = [r for r in json.loads(qfile.read_text()) if r["look"] == a.look and r["views"] == a.views]
    if not rows:
        raise SystemExit(f"{qfile}: no rows for look {a.look!r} and views {a.views!r}")

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_quality as bq
    import trimesh

    from eval.align import apply_matrix
    from neuhead.data.load import load_input
    from neuhead.data.neus import write_neus
    from neuhead.pipeline import prepare_prior
    from neuhead.prior import load_prior
    from neuhead.reconstruction import Reconstruction

    prior = load_prior(a.prior)
    mean_model = prepare_prior(prior.model)
    k = mean_model.n_scenes - 1
    tmp = Path(tempfile.mkdtemp(prefix="face_error_regions_"))
    per_mesh: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: r["seed"]):
        seed = r["seed"]
        scene, gt_closed = bq.render_head(seed, a.look, 24, 256, 512, hair=r["hair"])
        gt = gt_closed.scan()
        placed = load_input(write_neus(bq.foreign_frame(scene.subset(r["view_idx"])), tmp / f"{seed}_{a.look}"))
        meshes = {"fit": trimesh.load(a.dir / f"head{seed}_{a.look}_v{a.views}_full.ply", process=False),
                  "prior mean head, placed": Reconstruction(mean_model, k, placed.to_world, "mm").extract_mesh(
                      bq.EVAL_RESOLUTION),
                  "ICT mean head, placed": bq.mean_head_placed(placed)}
        gt_can = canonical_mm(gt.vertices, scene.to_world)
        nose = canonical_mm(np.asarray(gt.landmarks["nose_tip"])[None], scene.to_world)[0]
        normals = np.asarray(trimesh.Trimesh(gt.vertices, gt.faces, process=False).vertex_normals)
        for name, m in meshes.items():
            ev = bq.evaluate(m, gt, placed.to_world)  # the benchmark's own protocol call
            face = ev.face_sphere
            aligned = face.alignment.apply_inverse(apply_matrix(ev.coarse.matrix, np.asarray(m.vertices)))
            idx = face.indices
            signed = signed_distances(gt.vertices[idx], normals[idx], aligned)
            yaw = np.degrees(np.arctan2(gt_can[idx, 0], gt_can[idx, 2]))
            per_mesh.setdefault(name, []).append(region_cells(gt_can[idx, 1] - nose[1], yaw, signed))
            print(f"{seed} {name}: face {face.mean:.2f} mm (signed mean {signed.mean():+.2f})", flush=True)
    for name, cells in per_mesh.items():
        merged = merge_cells(cells)
        n = sum(c["n"] for c in merged.values())
        print(f"\n{name}, {len(cells)} heads, {a.look} look, {a.views} view(s): mean over the face vertices "
              f"{sum(c['sum'] for c in merged.values()) / n:.2f} mm; per cell: mean, signed mean (mm), share")
        print(format_cells(merged))


if __name__ == "__main__":
    main()

"""Helpers for the eval tests: a head-like ground-truth mesh in millimetres (ICT-FaceKit neutral skin)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: the ICT-FaceKit npz in ../shared beside the checkout (CI), or /work/shared
ICT = next((p for p in (Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ict_facekit" / "ict_facekit.npz",
             Path("/work/shared/data/ict_facekit/ict_facekit.npz")) if p.is_file()),
     Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ict_facekit" / "ict_facekit.npz")
N_SKIN = 11248  # vertices 0..11247 are the skin


def ict_head_mm() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices mm (11248, 3), skin faces, nose tip (3,)); the model is in cm, so × 10."""
    d = np.load(ICT)
    v = d["neutral_vertices"][:N_SKIN].astype(np.float64) * 10.0
    f = d["faces"].astype(np.int64)
    f = f[(f < N_SKIN).all(1)]
    nose = v[int(d["landmarks_multipie68"][30])]
    return v, f, nose


def rotation(axis, deg) -> np.ndarray:
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    a = np.deg2rad(deg)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * K + (1 - np.cos(a)) * K @ K

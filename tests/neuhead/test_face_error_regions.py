"""scripts/face_error_regions.py: signed distances and the per-region cells of the face error."""

import importlib.util
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location("face_error_regions",
                                               Path(__file__).parents[2] / "scripts" / "face_error_regions.py")
fer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fer)


def _sphere(n: int, r: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, 3))
    return r * v / np.linalg.norm(v, axis=1, keepdims=True)


def test_signed_distances_outside_and_inside():
    gt = _sphere(500, 100.0)
    normals = gt / 100.0
    # the same directions on a larger / smaller sphere: every nearest vertex is the radial one
    assert np.allclose(fer.signed_distances(gt, normals, gt * 1.02), 2.0)
    assert np.allclose(fer.signed_distances(gt, normals, gt * 0.97), -3.0)


def test_region_cells_sum_to_the_whole_and_bin_by_height_and_yaw():
    height = np.array([60.0, 60.0, 20.0, 0.0, 0.0, -40.0])
    yaw = np.array([0.0, -70.0, 30.0, 10.0, -10.0, 179.0])
    signed = np.array([1.0, -2.0, 0.5, -1.0, 3.0, 4.0])
    cells = fer.region_cells(height, yaw, signed)
    assert sum(c["n"] for c in cells.values()) == len(signed)
    assert np.isclose(sum(c["sum"] for c in cells.values()), np.abs(signed).sum())
    assert cells[("scalp/forehead", "front <20")] == {"n": 1, "sum": 1.0, "signed_sum": 1.0}
    assert cells[("scalp/forehead", "side >40")] == {"n": 1, "sum": 2.0, "signed_sum": -2.0}
    assert cells[("brows/eyes", "20-40")]["n"] == 1
    assert cells[("nose/cheeks", "front <20")] == {"n": 2, "sum": 4.0, "signed_sum": 2.0}
    assert cells[("mouth/chin", "side >40")]["signed_sum"] == 4.0
    merged = fer.merge_cells([cells, cells])
    assert merged[("nose/cheeks", "front <20")] == {"n": 4, "sum": 8.0, "signed_sum": 4.0}
    table = fer.format_cells(merged)
    assert "nose/cheeks" in table and "34.8 %" in table  # 8 of the 23 summed mm

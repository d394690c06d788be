"""Camera rigs for synthetic heads, in the head model frame (mm, +Y up, face towards +Z).

``portrait``: a phone held in front of the subject (SmartPortraits-like) — azimuth within ±45°,
small elevation, about 1.5 m away. The image is the square crop of a phone photo around the head:
same pinhole, so its focal length is the phone's, and its field of view is the crop's
(``frame_mm`` of the subject at the target distance, ≈ 13° here); the principal point is jittered
because the head is never exactly centred. ``360``: H3DS-like, all around the head at varying
elevation, closer (≈ 0.6 m). View 0 is always frontal; in ``portrait`` views 1 and 2 are at
±35° (left, right) so the 1- and 3-view configurations exist in every scene.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from neuhead.cameras import Cameras, look_at


@dataclass(frozen=True)
class RigConfig:
    """A random camera rig around a head."""

    azimuth_deg: tuple[float, float]
    """azimuth range (0 = in front of the face, + = towards the subject's left, +x)"""
    elevation_deg: tuple[float, float]
    """elevation range (+ = camera above the head centre)"""
    distance_mm: float
    """mean camera distance to the target"""
    distance_jitter: float
    """relative distance jitter (uniform ±)"""
    frame_mm: float
    """height of the subject-space window the image covers at the target distance (sets the FOV)"""
    focal_jitter: float
    """relative focal-length jitter per view (uniform ±)"""
    principal_jitter: float
    """principal-point jitter as a fraction of the image size (uniform ±)"""
    roll_deg: float
    """camera roll jitter (uniform ±)"""
    target_mm: tuple[float, float, float] = (0.0, 20.0, 20.0)
    """the point the cameras look at (model frame)"""
    target_jitter_mm: float = 10.0
    """per-view jitter of the look-at point"""
    all_around: bool = False
    """spread azimuths evenly over the range (360) instead of random within it"""


PORTRAIT = RigConfig(azimuth_deg=(-45.0, 45.0), elevation_deg=(-8.0, 15.0), distance_mm=1500.0, distance_jitter=0.1,
                     frame_mm=340.0, focal_jitter=0.05, principal_jitter=0.04, roll_deg=4.0)
RIG_360 = RigConfig(azimuth_deg=(-180.0, 180.0), elevation_deg=(-15.0, 45.0), distance_mm=600.0, distance_jitter=0.1,
                    frame_mm=360.0, focal_jitter=0.05, principal_jitter=0.03, roll_deg=4.0, all_around=True)
RIG_360_TELE = replace(RIG_360, distance_mm=1367.0, elevation_deg=(-10.0, 30.0))
"""the 360 rig from 1.37 m: a 15 deg field of view over the same 360 mm frame (a test look, never trained on)"""
RIGS = {"portrait": PORTRAIT, "360": RIG_360, "360tele": RIG_360_TELE}


def view_angles(rig: RigConfig, n_views: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Azimuths and elevations (degrees). View 0 frontal; in a portrait rig views 1, 2 at ±35°."""
    lo, hi = rig.azimuth_deg
    if rig.all_around:
        az = np.linspace(0.0, 360.0, n_views, endpoint=False)
        az[1:] += rng.uniform(-0.3, 0.3, n_views - 1) * 360.0 / n_views
        az = (az + 180.0) % 360.0 - 180.0
    else:
        az = rng.uniform(lo, hi, n_views)
        fixed = [0.0, 35.0, -35.0][:n_views]
        az[: len(fixed)] = fixed
    el = rng.uniform(*rig.elevation_deg, n_views)
    el[0] = rng.uniform(-3.0, 5.0)
    return az, el


def sample_cameras(rig: RigConfig, n_views: int, res: int, rng: np.random.Generator) -> Cameras:
    """``n_views`` square ``res``² cameras of the rig, world = head model frame (mm)."""
    az, el = view_angles(rig, n_views, rng)
    target = np.asarray(rig.target_mm) + rng.uniform(-1, 1, (n_views, 3)) * rig.target_jitter_mm
    dist = rig.distance_mm * (1 + rng.uniform(-1, 1, n_views) * rig.distance_jitter)
    a, e = np.deg2rad(az), np.deg2rad(el)
    eye = target + dist[:, None] * np.stack([np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)], 1)
    c2w = np.stack([look_at(eye[i], target[i]) for i in range(n_views)])
    roll = np.deg2rad(rng.uniform(-rig.roll_deg, rig.roll_deg, n_views))
    Rz = np.zeros((n_views, 4, 4))
    Rz[:, 0, 0], Rz[:, 0, 1], Rz[:, 1, 0], Rz[:, 1, 1] = np.cos(roll), -np.sin(roll), np.sin(roll), np.cos(roll)
    Rz[:, 2, 2] = Rz[:, 3, 3] = 1.0
    c2w = c2w @ Rz
    # focal so that frame_mm at the nominal distance spans the image height
    f = res * rig.distance_mm / rig.frame_mm * (1 + rng.uniform(-1, 1, n_views) * rig.focal_jitter)
    K = np.zeros((n_views, 3, 3))
    K[:, 0, 0] = K[:, 1, 1] = f
    K[:, 0, 2] = res / 2 + rng.uniform(-1, 1, n_views) * rig.principal_jitter * res
    K[:, 1, 2] = res / 2 + rng.uniform(-1, 1, n_views) * rig.principal_jitter * res
    K[:, 2, 2] = 1.0
    return Cameras(K, c2w, res, res)

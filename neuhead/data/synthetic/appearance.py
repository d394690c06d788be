"""Procedural appearance of a synthetic head: albedo, lighting and background.

Albedo is a function of the *neutral* model position of a surface point (so it sticks to the skin
whatever the identity) and of per-vertex feature weights (lips, brows, cheeks, eyes, hair) that are
interpolated across triangles. Shading is Lambertian with a little wrap (soft skin look), one
directional light with a shadow and an ambient term, done in linear light and encoded with
gamma 2.2. No view-dependent terms: the radiance is the same from every view.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from neuhead.data.synthetic.head import (PART_EYE_L, PART_EYE_R, PART_MOUTH, PART_NECK, HairParams, Head, HeadModel,
                                         hair_weight)
from neuhead.sh import SRGB_GAMMA

GAMMA = SRGB_GAMMA
SKIN_TONES = np.array([  # sRGB, light -> dark
    [0.96, 0.80, 0.70], [0.90, 0.72, 0.60], [0.80, 0.60, 0.46], [0.66, 0.46, 0.33],
    [0.50, 0.34, 0.24], [0.36, 0.24, 0.17], [0.26, 0.17, 0.12],
])
#: the lighting distributions of ``sample_appearance``: "train" (the shipped prior's data and every benchmark look
#: called "train": one directional light with a shadow over a dim ambient), "varied" (the same draw, then a third
#: of the heads keep it, a third get a soft light and a third a nearly flat one; ``vary_lighting``) and "below" (a
#: test look no training set has: the same light moved under the head, ``light_from_below``)
LIGHTINGS = ("train", "varied", "below")
IRIS_COLORS = np.array([[0.30, 0.18, 0.09], [0.18, 0.10, 0.05], [0.35, 0.45, 0.60], [0.35, 0.42, 0.28], [0.45, 0.35, 0.20]])

#: attribute channels interpolated per pixel: neutral xyz (3), hair, lips, brows, cheeks, eye_r, eye_l, neck cap, ears
N_ATTR = 11


@dataclass(frozen=True)
class Appearance:
    """Everything that colours one scene (all colours sRGB in [0, 1])."""

    skin: np.ndarray
    lips: np.ndarray
    brows: np.ndarray
    brow_width: float
    iris: np.ndarray
    gaze: np.ndarray  # (2,) iris offset in mm (x, y)
    cheek: float
    noise: np.ndarray  # (m, 4) skin variation: direction * frequency, phase
    hair: np.ndarray
    hair_params: HairParams | None  # the hairline, evaluated per pixel for a sharp hair edge
    light_dir: np.ndarray  # (3,) unit, towards the light, model frame
    light_color: np.ndarray
    light: float
    ambient: float
    background: np.ndarray  # (2, 3) top / bottom colours of a vertical gradient


def sample_appearance(rng: np.random.Generator, head: Head, lighting: str = "train") -> Appearance:
    """Random skin tone, lips, brows, eyes, light and background. ``lighting`` (``LIGHTINGS``): "varied" draws
    the same appearance as "train" and then re-draws the light's strength (``vary_lighting``), so a head keeps
    its skin, hair and background under either."""
    if lighting not in LIGHTINGS:
        raise ValueError(f"lighting {lighting!r}: choose from {', '.join(LIGHTINGS)}")
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    i = int(np.floor(t))
    skin = SKIN_TONES[i] + (t - i) * (SKIN_TONES[min(i + 1, len(SKIN_TONES) - 1)] - SKIN_TONES[i])
    skin = np.clip(skin * rng.uniform(0.94, 1.06, 3), 0, 1)
    lips = np.clip(skin * np.array([0.92, 0.62, 0.62]) * rng.uniform(0.8, 1.05), 0, 1)
    hair = np.array(head.hair_params.color) if head.hair_params is not None else skin * 0.35
    brows = hair * rng.uniform(0.7, 1.1) + 0.02
    brows = brows * min(1.0, 0.35 / brows.max())  # darker than light hair, same hue
    brows = np.clip(brows, 0, 1) if rng.uniform() < 0.8 else skin * 0.3
    m = 6
    dirs = rng.normal(size=(m, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    noise = np.concatenate([dirs * rng.uniform(2 * np.pi / 90, 2 * np.pi / 20, (m, 1)), rng.uniform(0, 2 * np.pi, (m, 1))], 1)
    # light from the front hemisphere, above or level
    az, el = rng.uniform(-1.2, 1.2), rng.uniform(-0.1, 1.0)
    light_dir = np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
    warm = rng.uniform(-0.08, 0.08)
    bg = rng.uniform(0.05, 0.95, 3)
    bg2 = np.clip(bg * rng.uniform(0.5, 1.2) + rng.normal(0, 0.08, 3), 0, 1) if rng.uniform() < 0.6 else bg
    app = Appearance(
        skin=skin, lips=lips, brows=brows, brow_width=float(rng.uniform(2.0, 4.0)),
        iris=np.clip(IRIS_COLORS[rng.integers(len(IRIS_COLORS))] * rng.uniform(0.8, 1.2), 0, 1),
        gaze=rng.normal(0, 1.0, 2), cheek=float(rng.uniform(0.0, 0.5)), noise=noise, hair=hair, hair_params=head.hair_params,
        light_dir=light_dir, light_color=np.array([1 + warm, 1.0, 1 - warm]),
        light=float(rng.uniform(0.6, 1.0)), ambient=float(rng.uniform(0.25, 0.45)),
        background=np.stack([bg, bg2]),
    )
    if lighting == "varied":
        return vary_lighting(rng, app)
    return light_from_below(rng, app) if lighting == "below" else app


def light_from_below(rng: np.random.Generator, app: Appearance) -> Appearance:
    """The appearance with its light moved under the head (elevation 30-45 degrees below the horizon, the same
    azimuth): a look outside both training distributions (theirs is level or above)."""
    el = -float(rng.uniform(np.radians(30), np.radians(45)))
    horizontal = app.light_dir[[0, 2]] / max(float(np.linalg.norm(app.light_dir[[0, 2]])), 1e-9)
    d = np.array([horizontal[0] * np.cos(el), np.sin(el), horizontal[1] * np.cos(el)])
    return replace(app, light_dir=d)


def vary_lighting(rng: np.random.Generator, app: Appearance) -> Appearance:
    """The appearance under one of three light strengths, equally likely: as drawn (directional: ambient
    0.25-0.45, light 0.6-1.0), soft (ambient 0.45-0.75, light 0.15-0.45) or nearly flat (ambient 0.85-1.05, light
    0-0.1; ambient 1 and light 0 is the albedo itself). Photos range from a lamp at the side to an overcast day or
    a flash; a prior that only ever saw the first must explain a flat photo by flattening the head."""
    kind = int(rng.integers(3))
    if kind == 1:
        return replace(app, ambient=float(rng.uniform(0.45, 0.75)), light=float(rng.uniform(0.15, 0.45)))
    if kind == 2:
        return replace(app, ambient=float(rng.uniform(0.85, 1.05)), light=float(rng.uniform(0.0, 0.1)))
    return app


def _polyline_distance(p: np.ndarray, line: np.ndarray) -> np.ndarray:
    """2D distance of points (n, 2) to a polyline (m, 2)."""
    d = np.full(len(p), np.inf)
    for a, b in zip(line[:-1], line[1:]):
        ab = b - a
        t = np.clip((p - a) @ ab / (ab @ ab), 0, 1)
        d = np.minimum(d, np.linalg.norm(p - (a + t[:, None] * ab), axis=1))
    return d


@functools.lru_cache(maxsize=2)
def _static_features(model: HeadModel) -> dict[str, np.ndarray]:
    """Per-vertex distances on the neutral head that the per-scene weights are made from."""
    from matplotlib.path import Path as MplPath

    p = model.neutral
    lm = p[model.landmarks68]
    front = p[:, 2] > 60.0
    lip_poly = MplPath(lm[48:60, :2])
    inside = lip_poly.contains_points(p[:, :2]) & (p[:, 2] > lm[48:60, 2].min() - 8)
    lip_edge = _polyline_distance(p[:, :2], np.concatenate([lm[48:60, :2], lm[48:49, :2]]))
    lip_sd = np.where(inside, -lip_edge, lip_edge)
    lip_sd[~front] = np.inf
    brow = np.minimum(_polyline_distance(p[:, :2], lm[17:22, :2] + [0, 2.0]),
                      _polyline_distance(p[:, :2], lm[22:27, :2] + [0, 2.0]))
    brow[~front] = np.inf
    cheeks = np.stack([(lm[2] + lm[31] + lm[41]) / 3, (lm[14] + lm[35] + lm[46]) / 3])
    cheek = np.min(np.linalg.norm(p[:, None] - cheeks[None], axis=2), axis=1)
    eye_centres = np.stack([p[model.labels == PART_EYE_R][-1], p[model.labels == PART_EYE_L][-1]])
    return {"lip_sd": lip_sd, "brow": brow, "cheek": cheek, "eye_centres": eye_centres}


def vertex_attributes(model: HeadModel, head: Head, app: Appearance) -> np.ndarray:
    """(n, N_ATTR) per-vertex attributes to interpolate across triangles."""
    f = _static_features(model)
    lab = model.labels
    A = np.zeros((len(model.neutral), N_ATTR))
    A[:, :3] = model.neutral
    A[:, 3] = head.hair
    A[:, 4] = np.clip(0.5 - f["lip_sd"] / 1.5, 0, 1)
    A[:, 4][lab == PART_MOUTH] = 1.0
    A[:, 5] = np.clip(1.0 - (f["brow"] - app.brow_width) / 2.0, 0, 1)
    A[:, 6] = np.exp(-0.5 * (f["cheek"] / 18.0) ** 2) * app.cheek
    A[:, 7] = lab == PART_EYE_R
    A[:, 8] = lab == PART_EYE_L
    A[:, 9] = lab == PART_NECK
    A[:, 10] = model.ears if model.ears is not None else 0.0
    return A


def albedo(model: HeadModel, attr: np.ndarray, app: Appearance, streaks: bool = True, hair: bool = True) -> np.ndarray:
    """sRGB albedo (m, 3) from interpolated attributes (m, N_ATTR) (the slow, exact reference).

    ``hair=False`` leaves the hair out (the per-vertex part of ``albedo_fast``)."""
    p0 = attr[:, :3]
    base = np.broadcast_to(app.skin, (len(attr), 3)).copy()
    var = np.sin(p0 @ app.noise[:, :3].T + app.noise[:, 3]).mean(1)
    base *= (1 + 0.07 * var)[:, None]
    base = _lerp(base, base * np.array([1.06, 0.86, 0.86]), attr[:, 6:7])
    base = _lerp(base, app.lips, attr[:, 4:5])
    base = _lerp(base, app.brows, 0.75 * attr[:, 5:6])
    base = _lerp(base, base * 0.8, attr[:, 9:10])
    # eyes: sclera, iris and pupil from the distance to the (gaze-shifted) eye centre
    centres = _static_features(model)["eye_centres"]
    eye_w = attr[:, 7] + attr[:, 8]
    sel = eye_w > 1e-3
    if sel.any():
        c = np.where((attr[sel, 7] >= attr[sel, 8])[:, None], centres[0], centres[1])
        r = np.linalg.norm(p0[sel, :2] - c[:, :2] - app.gaze, axis=1)
        eye = np.broadcast_to(np.array([0.86, 0.83, 0.80]), (sel.sum(), 3)).copy()
        iris_ring = 0.75 + 0.25 * np.cos(r * 3.0)
        eye = np.where((r < 5.8)[:, None], app.iris * iris_ring[:, None], eye)
        eye = np.where(((r > 5.2) & (r < 6.0))[:, None], app.iris * 0.4, eye)
        eye = np.where((r < 2.0)[:, None], 0.03, eye)
        w = np.clip((eye_w[sel] - 0.25) / 0.5, 0, 1)[:, None]  # dark lid line where the fill meets the skin
        lid = _lerp(base[sel], base[sel] * 0.35, np.clip(eye_w[sel] * 3, 0, 1)[:, None])
        base[sel] = _lerp(lid, eye, w)
    if hair:
        base = hair_blend(base, attr, app, streaks)
    return np.clip(base, 0, 1)


def hair_blend(base: np.ndarray, attr: np.ndarray, app: Appearance, streaks: bool = True) -> np.ndarray:
    """Hair colour (with strand-like streaks) over ``base`` where the point is above the hairline.

    The hairline is evaluated at the point itself (sharp at any resolution), only where the
    interpolated per-vertex hair weight is > 0 (triangles that touch the hair region)."""
    sel = np.flatnonzero(attr[:, 3] > 0)
    if app.hair_params is None or not len(sel):
        return base
    p0 = attr[sel, :3]
    w = hair_weight(p0, None, app.hair_params, ramp_mm=5.0) * np.clip(1 - attr[sel, 7:11].sum(1), 0, 1)
    streak = hair_streaks(p0, app)[:, None] if streaks else 1.0
    out = base.copy()
    out[sel] = _lerp(base[sel], np.clip(app.hair[None] * streak, 0, 1), w[:, None])
    return out


def hair_streaks(p0: np.ndarray, app: Appearance) -> np.ndarray:
    """(m,) multiplicative hair-colour variation around 1 (fine streaks + broad shading)."""
    phi = np.arctan2(p0[:, 0], p0[:, 2])
    return (1 + 0.07 * np.sin(phi * 90 + 3 * np.sin(p0[:, 1] * 0.05)) * np.sin(phi * 37 + 1.3)
            + 0.08 * np.sin(p0 @ app.noise[:3, :3].T * 0.7 + app.noise[:3, 3]).mean(1))


def albedo_fast(model: HeadModel, attr: np.ndarray, vert_albedo: np.ndarray, faces_idx: np.ndarray,
                bary: np.ndarray, eye_faces: np.ndarray, hair_faces: np.ndarray, app: Appearance) -> np.ndarray:
    """``albedo`` for hit points (triangle ids ``faces_idx``, barycentrics ``bary``) from the
    per-vertex albedo without hair (``albedo(..., hair=False)`` at the vertices), with per-pixel
    detail only where needed: the full ``albedo`` on eye triangles, ``hair_blend`` on hair triangles."""
    f = model.faces[faces_idx]
    a = (bary[:, :, None] * vert_albedo[f]).sum(1)
    h = np.flatnonzero(hair_faces[faces_idx])
    if len(h):
        a[h] = hair_blend(a[h], (bary[h, :, None] * attr[f[h]]).sum(1), app)
    e = np.flatnonzero(eye_faces[faces_idx])
    if len(e):
        a[e] = albedo(model, (bary[e, :, None] * attr[f[e]]).sum(1), app)
    return np.clip(a, 0, 1)


def shade(albedo_srgb: np.ndarray, normals: np.ndarray, lit: np.ndarray, app: Appearance) -> np.ndarray:
    """sRGB colour: ``(a^g * (ambient + light * lit * wrap(n.l)))^(1/g)``; lit: (m,) 0/1 shadow test."""
    wrap = 0.25
    ndl = np.clip((normals @ app.light_dir + wrap) / (1 + wrap), 0, None)
    L = app.ambient + app.light * (ndl * lit)[:, None] * app.light_color
    return np.clip((albedo_srgb**GAMMA * L), 0, 1) ** (1 / GAMMA)


def background(app: Appearance, height: int, width: int) -> np.ndarray:
    """(H, W, 3) vertical gradient."""
    t = (np.arange(height) + 0.5)[:, None, None] / height
    return np.broadcast_to((1 - t) * app.background[0] + t * app.background[1], (height, width, 3))


def _lerp(a, b, t):
    return a + (b - a) * t

"""The ICT-FaceKit head model (closed skin, mm) and a seeded head sampler with optional hair volume.

The model is the compact asset ``assets/ict/ict_head.npz`` built by ``build_asset.py`` from the
MIT-licensed ICT-FaceKit (licence beside the asset). Frame: millimetres, +Y up, face towards +Z,
symmetric about x = 0; the subject's right is -x. A head is
``v = neutral + sum_k w_k * identity_k + sum_j e_j * expression_j`` with ``w_k ~ N(0, sigma^2)``,
then an optional hair volume: scalp vertices moved out along their normals by a thickness that
ramps in above a random hairline. The mesh stays one watertight surface with fixed topology, so
landmark vertex ids and regions are the same for every head.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from meshing.extract import vertex_normals  # noqa: F401  (one copy, re-exported for the synthetic modules)

#: the six H3DS landmarks -> Multi-PIE 68 (iBUG) index. Eyes are the *outer* eye corners (36, 45):
#: they are far apart (a well-conditioned similarity) and, unlike the inner corners, not hidden by
#: the nose bridge in three-quarter views; nose_base is the subnasale (33); lips are the mouth corners.
H3DS_LANDMARKS_68 = {
    "right_eye": 36,
    "left_eye": 45,
    "nose_tip": 30,
    "nose_base": 33,
    "right_lips": 48,
    "left_lips": 54,
}
LANDMARK_NAMES = tuple(H3DS_LANDMARKS_68)

PART_SKIN, PART_EYE_R, PART_EYE_L, PART_MOUTH, PART_NECK = 0, 1, 2, 3, 4

#: the asset in ``neuhead/assets`` (the repository's ``assets/`` through a symlink in a checkout and an
#: editable install; package data in a wheel)
ASSET_PATH = Path(__file__).resolve().parents[2] / "assets" / "ict" / "ict_head.npz"


@dataclass(frozen=True, eq=False)
class HeadModel:
    """The closed linear head model. All positions in mm.

    neutral: (n, 3); faces: (f, 3) int32 (outward, watertight); identity: (k, n, 3) float16 deltas;
    expression: (e, n, 3) float16 deltas; expression_names: e names; labels: (n,) uint8 ``PART_*``;
    landmarks68: (68,) vertex ids; regions: name -> vertex ids (``face``, ``nose``); ears: (n,) 0/1.
    """

    neutral: np.ndarray
    faces: np.ndarray
    identity: np.ndarray
    expression: np.ndarray
    expression_names: tuple[str, ...]
    labels: np.ndarray
    landmarks68: np.ndarray
    regions: dict[str, np.ndarray] = field(default_factory=dict)
    ears: np.ndarray | None = None
    """(n,) 1 on the outer ears (kept free of hair), else 0"""

    @property
    def n_modes(self) -> int:
        return len(self.identity)

    def landmark_ids(self) -> dict[str, int]:
        """The six H3DS landmark names -> vertex id."""
        return {k: int(self.landmarks68[i]) for k, i in H3DS_LANDMARKS_68.items()}


@functools.lru_cache(maxsize=4)
def load_head_model(path: str | Path | None = None) -> HeadModel:
    """Load the head asset (cached). ``path`` defaults to ``assets/ict/ict_head.npz``."""
    from neuhead.errors import InputError

    path = Path(path) if path is not None else ASSET_PATH
    if not path.is_file():
        raise InputError(f"{path}: head model asset missing (build it with python -m neuhead.data.synthetic.build_asset)")
    with np.load(path, allow_pickle=False) as d:
        p = d["neutral"].astype(np.float64)
        # the outer ears: ICT "face" part (vertex ids <= 9408; it includes the ears, the skull
        # behind them is "head_neck") beside the head at ear height
        src = d["source_vertex"]
        ears = ((src >= 0) & (src <= 9408) & (np.abs(p[:, 0]) > 62) & (p[:, 1] > -30) & (p[:, 1] < 60)
                & (p[:, 2] > -50) & (p[:, 2] < 30)).astype(np.float64)
        return HeadModel(
            neutral=d["neutral"].astype(np.float64),
            faces=d["faces"].astype(np.int64),
            identity=d["identity_deltas"],
            expression=d["expression_deltas"],
            expression_names=tuple(str(s) for s in d["expression_names"]),
            labels=d["labels"],
            landmarks68=d["landmarks68"].astype(np.int64),
            regions={"face": d["region_face"].astype(np.int64), "nose": d["region_nose"].astype(np.int64)},
            ears=ears,
        )


@dataclass(frozen=True)
class HeadConfig:
    """How heads are sampled."""

    identity_sigma: float = 1.0
    """standard deviation of the identity weights (1 = the model's own spread)"""
    n_modes: int = 60
    """identity modes used (at most the asset's, 60)"""
    expression_prob: float = 0.5
    """probability that a head gets a random small expression"""
    expression_max: float = 0.35
    """largest weight of any expression target (ARKit weights are in [0, 1])"""
    n_expressions: int = 3
    """expression targets mixed into one expression"""
    hair_prob: float = 0.85
    """probability of a hair volume when hair is on (the rest are bald)"""


@dataclass(frozen=True, eq=False)
class HairParams:
    """A hair volume: hairline heights (neutral mm) front / sides / back, thickness, colour."""

    front_y: float
    temple: float  # how much higher (mm) the hairline sits at the temples than at the centre
    side_y: float
    back_y: float
    thickness: float
    top_extra: float
    color: tuple[float, float, float]
    waves: np.ndarray  # (m, 4) low-frequency bumps: direction xyz * frequency, phase


@dataclass(frozen=True, eq=False)
class Head:
    """One sampled head. vertices: (n, 3) mm with hair; bald: (n, 3) mm without; hair: (n,) weight in [0, 1]."""

    vertices: np.ndarray
    bald: np.ndarray
    faces: np.ndarray
    hair: np.ndarray
    identity: np.ndarray
    expression: np.ndarray
    hair_params: HairParams | None


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def sample_hair(rng: np.random.Generator) -> HairParams:
    """Random hairline (receding to low), thickness (cropped to voluminous) and colour."""
    palette = np.array([
        [0.05, 0.04, 0.035], [0.12, 0.08, 0.05], [0.25, 0.16, 0.09], [0.40, 0.26, 0.14],
        [0.45, 0.20, 0.08], [0.70, 0.55, 0.32], [0.55, 0.53, 0.50], [0.20, 0.18, 0.17],
    ])
    p = np.array([0.25, 0.2, 0.15, 0.1, 0.06, 0.1, 0.06, 0.08])
    c = palette[rng.choice(len(palette), p=p)] * rng.uniform(0.8, 1.2) * rng.uniform(0.97, 1.03, 3)
    m = 5
    dirs = rng.normal(size=(m, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    freqs = rng.uniform(2 * np.pi / 120, 2 * np.pi / 40, (m, 1))
    return HairParams(
        front_y=float(rng.uniform(68, 100)),
        temple=float(rng.uniform(0, 18)),
        side_y=float(rng.uniform(45, 65)),
        back_y=float(rng.uniform(-75, 10)),
        thickness=float(rng.uniform(4, 22)),
        top_extra=float(rng.uniform(0, 14)),
        color=tuple(np.clip(c, 0, 1).tolist()),
        waves=np.concatenate([dirs * freqs, rng.uniform(0, 2 * np.pi, (m, 1))], axis=1),
    )


def hair_weight(neutral: np.ndarray, labels: np.ndarray | None, hp: HairParams, ramp_mm: float = 10.0,
                ears: np.ndarray | None = None) -> np.ndarray:
    """(n,) in [0, 1]: 1 ``ramp_mm`` above the hairline, 0 below it, times ``1 - ears`` and 0 on
    the fills (given ``labels``). Works on any neutral-frame points (vertices or per-pixel positions)."""
    x, y, z = neutral.T
    phi = np.arctan2(x, z)  # 0 = front, +-pi = back
    # y(phi) = c0 + c1 cos(phi) + c2 cos(2 phi) through (0, front), (pi/2, side), (pi, back)
    c1 = (hp.front_y - hp.back_y) / 2
    c0 = ((hp.front_y + hp.back_y) / 2 + hp.side_y) / 2
    c2 = ((hp.front_y + hp.back_y) / 2 - hp.side_y) / 2
    line = c0 + c1 * np.cos(phi) + c2 * np.cos(2 * phi) + hp.temple * np.exp(-(((np.abs(phi) - 0.7) / 0.3) ** 2))
    w = _smoothstep((y - line) / ramp_mm)
    if ears is not None:
        w = w * (1 - ears)
    if labels is not None:
        w[labels != PART_SKIN] = 0.0
    return w


def sample_head(model: HeadModel, rng: np.random.Generator, config: HeadConfig = HeadConfig(),
                hair: bool = True) -> Head:
    """Draw identity, expression and hair from ``rng``; returns the head in the model frame (mm)."""
    k = min(config.n_modes, model.n_modes)
    w = rng.normal(0.0, config.identity_sigma, k)
    e = np.zeros(len(model.expression))
    if rng.uniform() < config.expression_prob:
        pick = rng.choice(len(e), size=min(config.n_expressions, len(e)), replace=False)
        e[pick] = rng.uniform(0.0, config.expression_max, len(pick))
    bald = model.neutral + np.einsum("k,knd->nd", w, model.identity[:k].astype(np.float64))
    if e.any():
        bald = bald + np.einsum("k,knd->nd", e, model.expression.astype(np.float64))
    hp = sample_hair(rng) if hair and rng.uniform() < config.hair_prob else None
    if hp is None:
        return Head(bald, bald, model.faces, np.zeros(len(bald)), w, e, None)
    hw = hair_weight(model.neutral, model.labels, hp, ears=model.ears)
    hd = hair_weight(model.neutral, model.labels, hp, ramp_mm=40.0, ears=model.ears)  # the volume tapers in slowly
    p0 = model.neutral
    top = _smoothstep((p0[:, 1] - 60.0) / 80.0)
    bumps = np.sin(p0 @ hp.waves[:, :3].T + hp.waves[:, 3]).mean(1)  # (n,) in [-1, 1]
    thick = hd * (hp.thickness * (1 + 0.25 * bumps) + hp.top_extra * top)
    verts = bald + vertex_normals(bald, model.faces) * thick[:, None]
    return Head(verts, bald, model.faces, hw, w, e, hp)

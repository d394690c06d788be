"""The face's shape from one image, learned on synthetic heads: 68 precise landmarks, then ICT weights.

A frontal view barely shows depth, but under the ICT-FaceKit head model the 2D positions of its 68
landmark vertices nearly determine the whole face: on exact positions a linear regression puts the face
within 0.5 mm (mean vertex distance over the face sphere) where the neutral is 3.6 mm off. The mediapipe
face mesh alone is too coarse for that (its points are not the model's vertices, and ≈ 1.2 px off at a
256-pixel frame). Three learned linear steps get closer, all ridge regressions fitted on rendered synthetic
heads by ``scripts/make_face_regressor.py`` (never on a benchmark head) and shipped as
``assets/face_regressor.npz`` (no pickle):

1. **start**: the 468 mediapipe points, similarity-normalised -> the 68 ICT landmarks' image positions;
2. **refine** (cascaded local regression, like the supervised descent method): at each stage, grey levels and
   gradients on a 9 × 9 grid of ± ``half`` pixels around each landmark, in the face's own frame, -> that
   landmark's displacement (one small regression per landmark); five stages from ± 16 to ± 3 px;
3. **shape**: both point sets, normalised -> the ICT identity (60) and expression weights.

The image is first resampled so the face has the size it had in training (``FaceRegressor.face_scale``), and
the landmarks are mapped back. Pure numpy and OpenCV, ≈ 5 ms for a 256² image. ``data.face_shape.fit_face_shape``
uses the weights for a one-view scene and solves only the head's pose against the refined landmarks.
Derived from the ICT-FaceKit model (MIT; see assets/ict/LICENSE).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

ASSET_PATH = Path(__file__).resolve().parents[1] / "assets" / "face_regressor.npz"
GRID = 9
"""samples per side of each landmark's patch"""


@dataclass(frozen=True, eq=False)
class Linear:
    """``y = ((x - x_mean) / x_scale) @ weight + y_mean``; a batch of them when the arrays carry a leading axis."""

    x_mean: np.ndarray
    x_scale: np.ndarray
    weight: np.ndarray
    y_mean: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.x_mean) / self.x_scale @ self.weight + self.y_mean


LINEAR_FIELDS = tuple(f.name for f in fields(Linear))


def ridge(x: np.ndarray, y: np.ndarray, lam: float) -> Linear:
    """Ridge regression of ``y`` (n, q) on standardised ``x`` (n, p); ``lam`` per sample."""
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / scale
    w = np.linalg.solve(z.T @ z + lam * len(z) * np.eye(z.shape[1]), z.T @ (y - y.mean(0)))
    return Linear(mean, scale, w, y.mean(0))


@dataclass(frozen=True, eq=False)
class FaceRegressor:
    """The learned steps (module docstring). ``ref468`` / ``ref68``: the normalised mean shapes the point sets
    are rotated onto; ``stages``: (half-width px, one ``Linear`` per landmark stacked along a leading axis)."""

    face_scale: float
    ref468: np.ndarray
    ref68: np.ndarray
    start: Linear
    stages: tuple[tuple[float, Linear], ...]
    shape: Linear
    identity_modes: int


@dataclass(frozen=True)
class FaceEstimate:
    """What the regressor read from one image: the 68 landmarks (pixels, the image's own; iBUG order, the ICT
    model's ``landmarks68`` vertices) and the ICT identity / expression weights."""

    landmarks: np.ndarray
    identity: np.ndarray
    expression: np.ndarray


def similarity_to(points: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Centre c, size s and rotation R with ``(points - c) / s @ R`` closest to ``ref`` (both (m, 2); ``ref``
    centred, unit norm): the 2D Procrustes normalisation of a point set."""
    c = points.mean(0)
    x = points - c
    s = float(np.sqrt((x ** 2).sum()))
    u, _, vt = np.linalg.svd((x / s).T @ ref)
    if np.linalg.det(u @ vt) < 0:
        u[:, -1] *= -1
    return c, s, u @ vt


def normalised(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``points`` (m, 2) Procrustes-normalised onto ``ref``, flattened."""
    c, s, R = similarity_to(points, ref)
    return ((points - c) / s @ R).ravel()


def start_landmarks(start: Linear, norm468: np.ndarray, sim) -> np.ndarray:
    """Step 1: the 68 landmarks (pixels, (68, 2)) from the normalised mediapipe points ``norm468`` and the
    similarity ``sim`` = (c, s, R) that normalised them."""
    c, s, R = sim
    return start(norm468[None])[0].reshape(-1, 2) * s @ R.T + c


def stage_step(lin: Linear, feats: np.ndarray) -> np.ndarray:
    """A refinement stage's displacement (..., 68, 2) (the face's frame, % of its size) from the patch features
    (..., 68, F), one regression per landmark (``lin``'s arrays stacked along the landmark axis)."""
    return np.einsum("...mf,mfq->...mq", (feats - lin.x_mean) / lin.x_scale, lin.weight) + lin.y_mean


def mean_shape(points: np.ndarray, iters: int = 3) -> np.ndarray:
    """The normalised mean of point sets (n, m, 2) (generalised Procrustes, ``iters`` rounds)."""
    ref = points[0] - points[0].mean(0)
    ref = ref / np.linalg.norm(ref)
    for _ in range(iters):
        ref = np.mean([normalised(p, ref).reshape(-1, 2) for p in points], 0)
        ref = ref - ref.mean(0)
        ref = ref / np.linalg.norm(ref)
    return ref


def _grid(half: float, R: np.ndarray) -> np.ndarray:
    g = np.linspace(-half, half, GRID)
    gx, gy = np.meshgrid(g, g)
    return np.stack([gx.ravel(), gy.ravel()], 1) @ R.T  # the face's frame -> the image's


def _channels(grey: np.ndarray) -> list[np.ndarray]:
    import cv2

    return [grey, cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)]


def _normalise_samples(a: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    a = (a - a.mean(1, keepdims=True)) / (a.std() + 1e-3)
    g = np.sqrt((gx ** 2 + gy ** 2).mean()) + 1e-3
    return np.concatenate([a, gx / g, gy / g], 1).astype(np.float32)


def patch_features(grey: np.ndarray, points: np.ndarray, half: float, R: np.ndarray) -> np.ndarray:
    """(m, 3 GRID²): grey level (centred per patch) and x / y gradient at a GRID × GRID grid of ± ``half`` px around
    each point (m, 2; pixel edges at integers), the grid rotated by ``R`` (the face's frame), bilinear (OpenCV
    remap, edges replicated); each channel scaled by the image's own spread. Reference:
    :func:`patch_features_reference`."""
    import cv2

    q = points[:, None, :] + _grid(half, R)[None]
    mx, my = (q[..., 0] - 0.5).astype(np.float32), (q[..., 1] - 0.5).astype(np.float32)
    a, gx, gy = (cv2.remap(ch, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) for ch in _channels(grey))
    return _normalise_samples(a, gx, gy)


def patch_features_reference(grey: np.ndarray, points: np.ndarray, half: float, R: np.ndarray) -> np.ndarray:
    """:func:`patch_features` by explicit bilinear interpolation in numpy (the reference for the tests)."""
    q = points[:, None, :] + _grid(half, R)[None]
    h, w = grey.shape

    def sample(ch, x, y):
        x = np.clip(x, 0, w - 1)
        y = np.clip(y, 0, h - 1)
        x0, y0 = np.clip(np.floor(x).astype(int), 0, w - 2), np.clip(np.floor(y).astype(int), 0, h - 2)
        fx, fy = x - x0, y - y0
        return ((1 - fx) * (1 - fy) * ch[y0, x0] + fx * (1 - fy) * ch[y0, x0 + 1]
                + (1 - fx) * fy * ch[y0 + 1, x0] + fx * fy * ch[y0 + 1, x0 + 1])

    chans = [sample(c.astype(np.float64), q[..., 0] - 0.5, q[..., 1] - 0.5) for c in _channels(grey)]
    return _normalise_samples(*chans)


def grey_at_scale(image: np.ndarray, points: np.ndarray, face_scale: float) -> tuple[np.ndarray, float]:
    """The image (h, w, 3 RGB in [0, 1], or (h, w) grey) as float32 grey, resampled by the factor k that gives
    ``points`` (468, 2) the size ``face_scale``; returns (grey, k)."""
    import cv2

    img = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    s = float(np.sqrt(((points - points.mean(0)) ** 2).sum()))
    k = face_scale / s
    if abs(k - 1.0) > 1e-3:
        size = (max(8, round(grey.shape[1] * k)), max(8, round(grey.shape[0] * k)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        k = size[0] / img.shape[1]  # the factor after rounding
    return grey.astype(np.float32), k


def refine_landmarks(reg: FaceRegressor, grey: np.ndarray, points468: np.ndarray) -> np.ndarray:
    """Steps 1 and 2: the 68 landmarks (pixels of ``grey``) from the mediapipe points (same pixels)."""
    c, s, R = similarity_to(points468, reg.ref468)
    x = start_landmarks(reg.start, ((points468 - c) / s @ R).ravel(), (c, s, R))
    for half, lin in reg.stages:
        x = x + stage_step(lin, patch_features(grey, x, half, R)) / 100.0 * s @ R.T
    return x


def shape_features(reg: FaceRegressor, points468: np.ndarray, points68: np.ndarray) -> np.ndarray:
    return np.concatenate([normalised(points468, reg.ref468), normalised(points68, reg.ref68)])


def regress_face(reg: FaceRegressor, image: np.ndarray, points468: np.ndarray) -> FaceEstimate:
    """The 68 landmarks and the ICT weights of the face in ``image`` whose mediapipe face mesh is ``points468``
    ((468, 2) pixels, edges at integers)."""
    points468 = np.asarray(points468, np.float64)
    grey, k = grey_at_scale(image, points468, reg.face_scale)
    x = refine_landmarks(reg, grey, points468 * k)
    w = reg.shape(shape_features(reg, points468 * k, x)[None])[0]
    return FaceEstimate(x / k, w[:reg.identity_modes], w[reg.identity_modes:])


def save_face_regressor(reg: FaceRegressor, path: str | Path) -> None:
    """Write ``reg`` as a plain npz (write to a temporary name, then rename)."""
    arrays = {"face_scale": np.float64(reg.face_scale), "ref468": reg.ref468, "ref68": reg.ref68,
              "identity_modes": np.int64(reg.identity_modes),
              "halves": np.array([h for h, _ in reg.stages], np.float64)}
    for name, lin in [("start", reg.start), ("shape", reg.shape)] + [(f"stage{i}", l) for i, (_, l) in enumerate(reg.stages)]:
        for f in LINEAR_FIELDS:
            arrays[f"{name}.{f}"] = np.asarray(getattr(lin, f), np.float32)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


@functools.lru_cache(maxsize=2)
def load_face_regressor(path: str | Path | None = None) -> FaceRegressor:
    """The shipped regressor (cached); ``path`` defaults to ``assets/face_regressor.npz``."""
    from neuhead.errors import InputError

    path = Path(path) if path is not None else ASSET_PATH
    if not path.is_file():
        raise InputError(f"{path}: face regressor asset missing (build it with scripts/make_face_regressor.py)")
    with np.load(path, allow_pickle=False) as z:
        def lin(name):
            return Linear(*(z[f"{name}.{f}"].astype(np.float64) for f in LINEAR_FIELDS))

        return FaceRegressor(float(z["face_scale"]), z["ref468"].astype(np.float64), z["ref68"].astype(np.float64),
                             lin("start"), tuple((float(h), lin(f"stage{i}")) for i, h in enumerate(z["halves"])),
                             lin("shape"), int(z["identity_modes"]))


def train_face_regressor(images: list[np.ndarray], points468: np.ndarray, landmarks68: np.ndarray,
                         weights: np.ndarray, identity_modes: int, halves=(16.0, 10.0, 6.0, 4.0, 3.0),
                         lam_start: float = 1e-3, lam_stage: float = 1.0, lam_shape: float = 1e-2,
                         restarts: int = 2, restart_px: float = 1.0, seed: int = 0, log=print) -> FaceRegressor:
    """Fit the three steps on training renders: ``images`` (RGB or grey), their mediapipe points (n, 468, 2) and the
    true landmark positions (n, 68, 2) in the same pixels, and the true weights (n, identity + expression).
    Each stage also learns from ``restarts`` copies of every start moved by Gaussian noise (``restart_px``), as
    SDM training does."""
    n = len(images)
    face_scale = float(np.median([np.sqrt(((p - p.mean(0)) ** 2).sum()) for p in points468]))
    greys, k = zip(*(grey_at_scale(im, p, face_scale) for im, p in zip(images, points468)))
    k = np.asarray(k)
    p468, p68 = points468 * k[:, None, None], landmarks68 * k[:, None, None]
    ref468, ref68 = mean_shape(p468[:500]), mean_shape(p68[:500])
    sims = [similarity_to(p, ref468) for p in p468]
    norm468 = np.stack([((p - c) / s @ R).ravel() for p, (c, s, R) in zip(p468, sims)])
    norm68 = np.stack([((p - c) / s @ R).ravel() for p, (c, s, R) in zip(p68, sims)])
    start = ridge(norm468, norm68, lam_start)
    x = np.stack([start_landmarks(start, a, sim) for a, sim in zip(norm468, sims)])
    rng = np.random.default_rng(seed)
    idx = np.concatenate([np.arange(n)] * (restarts + 1))
    x = np.concatenate([x] + [x + rng.normal(0, restart_px, x.shape) + rng.normal(0, restart_px, (n, 1, 2))
                              for _ in range(restarts)])
    stages = []
    for half in halves:
        log(f"stage ±{half:g} px: landmark error {np.linalg.norm(x[:n] - p68, axis=2).mean():.3f} px")
        feats = np.stack([patch_features(greys[i], x[j], half, sims[i][2]) for j, i in enumerate(idx)])  # (N, 68, F)
        d = np.stack([(p68[i] - x[j]) @ sims[i][2] / sims[i][1] * 100.0 for j, i in enumerate(idx)])  # face frame, % of s
        lins = [ridge(feats[:, m], d[:, m], lam_stage) for m in range(p68.shape[1])]
        lin = Linear(*(np.stack([getattr(l, f) for l in lins]) for f in LINEAR_FIELDS))
        stages.append((float(half), lin))
        step = stage_step(lin, feats)
        x = x + np.stack([step[j] / 100.0 * sims[i][1] @ sims[i][2].T for j, i in enumerate(idx)])
    log(f"refined: landmark error {np.linalg.norm(x[:n] - p68, axis=2).mean():.3f} px (training heads)")
    reg = FaceRegressor(face_scale, ref468, ref68, start, tuple(stages), Linear(0, 1, 0, 0), identity_modes)
    feats = np.stack([shape_features(reg, a, b) for a, b in zip(p468, x[:n])])
    return FaceRegressor(face_scale, ref468, ref68, start, tuple(stages), ridge(feats, weights, lam_shape), identity_modes)


__all__ = ["FaceRegressor", "FaceEstimate", "Linear", "ridge", "patch_features", "patch_features_reference",
           "regress_face", "refine_landmarks", "start_landmarks", "stage_step", "load_face_regressor",
           "save_face_regressor", "train_face_regressor"]

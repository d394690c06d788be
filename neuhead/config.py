"""Every constant of the method, in frozen dataclasses. Presets are instances, not code copies.

Read top to bottom: the model (fields, scene-specific layers), rendering, losses, fitting.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Literal


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the SDF, radiance and background networks and which layers are scene-specific."""

    sdf_hidden: int = 256
    """width of the SDF network's hidden layers"""
    sdf_layers: int = 8
    """number of hidden layers of the SDF network (it has sdf_layers + 1 linear layers)"""
    sdf_skip: tuple[int, ...] = (4,)
    """linear-layer indices whose input is concatenated with the encoded point (divided by sqrt 2)"""
    pe_freqs: int = 6
    """positional-encoding frequencies of the SDF input (0 = raw xyz)"""
    feature_dim: int = 256
    """size of the geometry feature passed from the SDF to the radiance network"""
    rgb_hidden: int = 256
    """width of the radiance network's hidden layers"""
    rgb_layers: int = 4
    """number of hidden layers of the radiance network"""
    use_viewdir: bool = False
    """feed the view direction (PE 4) to the radiance network (NeuS does; Multi-NeuS does not)"""
    weight_norm: bool = True
    """weight normalisation of every linear layer (NeuS default)"""
    init_radius: float = 0.5
    """geometric initialisation: the initial SDF is a sphere of this radius"""
    init_variance: float = 0.3
    """initial learnable variance v (inv_s = exp(10 v))"""
    scene_kind: Literal["shared", "independent", "lowrank"] = "lowrank"
    """kind of the scene-specific layers"""
    rank: int = 1000
    """rank of the low-rank scene-specific layers"""
    sdf_scene_layers: int = 4
    """how many of the SDF network's first linear layers are scene-specific (paper: 4 of 9)"""
    rgb_scene_layers: int = 2
    """how many of the radiance network's first linear layers are scene-specific (paper: 2 of 5)"""
    lowrank_init_noise: float = 0.02
    """relative std of the noise added to each low-rank basis vector at initialisation"""
    bg_hidden: int = 128
    """width of the per-scene NeRF++ background network (meta-learning only)"""
    bg_layers: int = 4
    """hidden layers of the background network"""
    base_sdf: Literal["none", "ict_neutral"] = "none"
    """a fixed SDF under the network's (``neuhead/model/base_sdf.py``): "ict_neutral" = the ICT mean head in the
    canonical frame. The network keeps its geometric (sphere) initialisation and the SDF is
    ``net(x) + base(x) - (|x| - init_radius)``, so it starts as the mean head and learns the difference"""
    shading: Literal["none", "sh"] = "none"
    """how the radiance network sees the surface's orientation. "none": the normal is one of its inputs (NeuS).
    "sh": it is not; the network gives an sRGB albedo ``a(x, feature)`` and the colour is
    ``(a^2.2 * E(n))^(1/2.2)`` with ``E`` each scene's own second-order spherical-harmonic irradiance (9 x 3
    coefficients a scene, starting at E = 1): the Lambertian model the synthetic heads are rendered with, so a
    change of shape changes the shading the way a light does (``fields.sh_irradiance``)"""


@dataclass(frozen=True)
class RenderConfig:
    """Ray sampling and compositing."""

    n_samples: int = 64
    """uniform samples per ray between near and far"""
    n_importance: int = 64
    """samples added by NeuS up-sampling, in up_sample_steps equal steps"""
    up_sample_steps: int = 4
    """number of up-sampling steps (inv_s = 64 * 2^i at step i)"""
    perturb: bool = True
    """one random shift per ray of the uniform samples while training"""
    band_samples: int = 0
    """0: the NeuS sampler (uniform + up-sampling; the reference). > 0: the narrow-band sampler
    (``render.band_z``): the ``n_samples`` uniform samples (SDF only, no gradients) find each ray's first surface,
    and the samples that are rendered (with gradients, colour and the eikonal term) are this many, evenly spaced
    over ``band_width`` either side of it; ``n_importance`` is not used"""
    band_width: float = 0.05
    """half-width of the narrow band (unit-sphere units: 0.05 = 10 mm on a head in the canonical frame)"""
    background: Literal["white", "black", "random", "none"] = "random"
    """background composited behind the object when training with masks"""
    chunk: int = 2048
    """rays per chunk when rendering whole images"""


@dataclass(frozen=True)
class LossConfig:
    """Loss weights."""

    color: float = 1.0
    """colour L1 weight"""
    eikonal: float = 0.1
    """eikonal (|grad f| - 1)^2 weight"""
    mask: float = 0.1
    """mask BCE weight on the accumulated opacity"""
    eikonal_radius: float = 1.2
    """eikonal only on points with |x| below this"""
    solid: float = 0.0
    """fitting: weight of the thickness hinge mean relu(sdf(x)) at points x behind the first surface of
    foreground rays (mask = 1), so the interior stays negative instead of going hollow (0 = off). Off in every
    preset: at 0.1 it webbed thin parts (bundled analytic scene from scratch, Chamfer 0.52 -> 0.65 mm) and did
    not beat the core term on heads"""
    solid_depth: float = 0.3
    """fitting: the points lie between solid_depth/4 and solid_depth behind the rendered depth, times the
    cosine between ray and surface normal (0.3 = 60 mm of a head at 200 mm per unit; a grazing ray's chord is short)"""
    solid_samples: int = 4
    """fitting: thickness-hinge points per foreground ray"""
    solid_min_cos: float = 0.3
    """fitting: rays meeting the surface at a cosine below this (near the silhouette) get no thickness points"""
    core: float = 0.0
    """fitting: weight of mean relu(sdf(x) + core_margin) at points uniform in the ellipsoid core_radii around
    the unit-frame origin; for heads in the canonical frame (the origin is inside the head), 0 = off"""
    core_radii: tuple[float, float, float] = (0.3, 0.45, 0.3)
    """fitting: x, y (the head's vertical), z semi-axes of the core ellipsoid (60 / 90 / 60 mm of a head, which
    reaches about 0.47 / 0.7 / 0.47 from the origin in the canonical unit frame)"""
    core_margin: float = 0.05
    """fitting: the core hinge is relu(sdf + core_margin), so the core ends clearly negative (a true head SDF
    is below -0.25 there), not hovering at 0"""
    coeff_prior: float = 0.0
    """fitting on a prior: weight of the new scene's Mahalanobis distance (per dimension) from the training
    scenes' Gaussian in the SDF's low-rank coefficients (``losses.CoefficientPrior``), 0 = off"""
    coeff_prior_ridge: float = 0.05
    """ridge added to that covariance, as a fraction of its mean variance"""
    face_anchor: float = 0.0
    """fitting from the landmark start (``FitConfig.scene_init="landmarks"``): weight of mean |sdf| at points on
    the landmark-fitted face (``data.face_shape``), so the image loss refines that face instead of replacing it;
    0 = off"""
    face_anchor_points: int = 256
    """anchor points per step"""


STAGE_PARAMS: dict[str, tuple[str | None, bool]] = {
    "all": ("all", False), "scene": ("scene", False), "scene+cameras": ("scene", True),
    "all+cameras": ("all", True), "cameras": (None, True), "scene+color": ("scene+color", False),
    "scene+color+cameras": ("scene+color", True)}
"""a stage's parameter set -> (model weights that move, whether the cameras move); parsed once, here"""


@dataclass(frozen=True)
class StageConfig:
    """One fitting stage: which parameters move, for how long, at what rate."""

    name: str = "all"
    """stage name in logs and reports"""
    params: Literal["all", "scene", "scene+cameras", "all+cameras", "cameras", "scene+color",
                    "scene+color+cameras"] = "all"
    """parameter set optimised in this stage ("cameras": only the camera refinement, the model frozen;
    "scene+color": the new scene's own rows and every weight of the radiance network, the shared SDF frozen)"""
    params_one_view: Literal["all", "scene", "scene+cameras", "all+cameras", "cameras", "scene+color",
                             "scene+color+cameras"] | None = None
    """parameter set used instead of ``params`` when the scene has a single view (None: ``params``);
    applied by ``for_views``"""
    iters: int = 300_000
    """iterations of this stage"""
    iters_one_view: int | None = None
    """iterations used instead of ``iters`` when the scene has a single view (None: ``iters``); applied by
    ``for_views``; an explicit budget (``scale_iters``, ``--iters``) replaces both"""
    lr: float = 5e-4
    """peak learning rate"""
    warmup: int = 5000
    """linear warm-up iterations"""
    schedule: Literal["cosine", "plateau", "constant"] = "cosine"
    """learning-rate schedule after warm-up"""
    final_lr_ratio: float = 0.05
    """cosine schedule ends at lr * this"""
    plateau_patience: int = 500
    """plateau schedule: iterations without a 1% improvement of the smoothed loss before lr *= plateau_factor"""
    plateau_factor: float = 0.316
    """plateau schedule: learning-rate factor"""
    early_stop_drops: int = 3
    """plateau schedule: stop the stage after this many lr drops"""
    camera_lr_ratio: float = 0.1
    """learning rate of camera refinement relative to lr"""
    head_pose_lr_ratio: float = 0.0
    """learning rate of the head pose shared by every camera (``cameras.CameraRefinement``: the placement's
    correction) relative to lr, in camera-moving stages; 0 = the head pose stays as placed"""
    cos_anneal_end: int = 50_000
    """NeuS cos-annealing iterations (0 = off)"""
    ema: float = 0.0
    """decay of an exponential moving average of the parameters the stage moves, copied into them when the stage
    ends (0 = off): the average of the last ~1 / (1 - ema) iterates instead of the last one"""

    def __post_init__(self) -> None:
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"StageConfig.ema must be in [0, 1), got {self.ema!r}")
        for name in ("params", "params_one_view"):
            value = getattr(self, name)
            if value not in STAGE_PARAMS and not (name == "params_one_view" and value is None):
                raise ValueError(f"StageConfig.{name} must be one of {sorted(STAGE_PARAMS)}, got {value!r}")
        if not self.head_pose_lr_ratio >= 0:
            raise ValueError(f"StageConfig.head_pose_lr_ratio must be >= 0, got {self.head_pose_lr_ratio!r}")
        if self.iters_one_view is not None and self.iters_one_view < 1:
            raise ValueError(f"StageConfig.iters_one_view must be >= 1 or None, got {self.iters_one_view!r}")

    @property
    def model_params(self) -> Literal["all", "scene", "scene+color"] | None:
        """which model weights move: every weight, only the new scene's, the new scene's and the radiance
        network's, or none"""
        return STAGE_PARAMS[self.params][0]

    @property
    def moves_cameras(self) -> bool:
        """whether the camera refinement moves in this stage"""
        return STAGE_PARAMS[self.params][1]

    @property
    def scene_rows_only(self) -> bool:
        """whether, of the per-scene parameters, only the fitted scene's own rows move ("scene", "scene+color")"""
        return self.model_params in ("scene", "scene+color")

    @property
    def moves_geometry(self) -> bool:
        """whether any SDF weight moves in this stage"""
        return self.model_params is not None


@dataclass(frozen=True)
class FitConfig:
    """A fitting run: model, rendering, losses and stages."""

    model: ModelConfig = field(default_factory=ModelConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    stages: tuple[StageConfig, ...] = (StageConfig(),)
    batch_rays: int = 512
    """rays per iteration"""
    focal_penalty: float = 1e-2
    """L2 weight on the log-focal change of refined cameras"""
    checkpoint_every: int = 500
    """iterations between checkpoints"""
    seed: int = 0
    """seed of every random choice (rays, perturbation, initialisation)"""
    scene_init: Literal["mean", "base", "landmarks"] = "mean"
    """fitting on a prior: where the new scene's own parameters start. "mean": the training scenes' mean;
    "base": that mean, then its SDF coefficients regressed so that the network reproduces the model's base SDF
    (the ICT neutral head; needs ``ModelConfig.base_sdf``), ``scene_init_iters`` steps; "landmarks": the mean,
    then its face regressed to the ICT head read from the image by the learned regressor (one view) or fitted to the
    face meshes placement detected (``data.face_shape.fit_face_shape``, ``train.fit.init_scene_to_shape``; placed
    scenes only)"""
    scene_init_iters: int = 1500
    """steps of the "base" and "landmarks" initialisations (1500: on head 9 000 003 the landmark start's face
    came out at 1.06 mm against 1.18 after 400; assets/prior/MODEL_CARD.md, "A face read from the image")"""
    landmark_views: int = 1
    """``scene_init="landmarks"`` (and the face anchor) for scenes of at most this many views; with more the
    fit starts at the mean without the anchor (``for_views``): on a three-view head the landmark fit of all
    views started 2.07 mm off on the face (one view: 1.10) and the anchor held it there (README "Quality")"""
    head_pose_views: int = 2
    """the head pose shared by all cameras (``StageConfig.head_pose_lr_ratio``) moves only for scenes of at least
    this many views (``for_views``): with three views it halved the placement's rotation error and won the face on
    the acceptance heads; with one view it was level or worse (assets/prior/MODEL_CARD.md, "The head pose")"""
    photo_face_anchor: float = 1.0
    """a photo without cameras (placement method "photo": the camera is guessed, not given) starts from the landmarks
    (``scene_init="landmarks"``) with this face anchor weight (``LossConfig.face_anchor``), applied by ``for_views``;
    0 = as any other one-view scene. Six heads through the photo path (README "Quality"): 1.46 / 2.72 mm against
    1.58 / 2.93 from the mean start, the whole head better on all six, the face on three (one level, two worse)"""
    one_view_face_anchor: float = 3.0
    """a one-view scene placed from its images (a folder with its camera) starts from the face the learned regressor
    reads from the image (``scene_init="landmarks"``, ``data.face_regressor``) with this face anchor weight
    (``LossConfig.face_anchor``), applied by ``for_views``; 0 = the mean start. Measured in README "Quality" and
    assets/prior/MODEL_CARD.md, section "A face read from the image"."""
    scene_subspace: int = 0
    """fitting on a prior: keep the new scene's SDF coefficients in the training scenes' first this-many principal
    directions in the stages that move only the scene's own rows (``model.subspace.CoefficientSubspace``,
    projected after every step); 0 = free"""
    scene_lr_by_spread: bool = False
    """fitting on a prior: each scene-specific SDF layer's coefficients move at the stage's rate times that layer's
    spread over the training scenes (mean per-coefficient std) relative to the first layer's; deep scene-specific
    layers spread several times less than the first, and Adam moves every coordinate by about the rate a step"""
    face_rays: float = 0.0
    """fraction of every ray batch drawn from the face: the pixels whose ray passes within ``face_radius`` of
    the canonical nose tip (heads placed in the canonical frame only; 0 = every pixel alike)"""
    face_radius: float = 0.475
    """radius of that sphere in the unit frame (0.475 = 95 mm, the H3DS face sphere, on a placed head)"""
    light_lr_ratio: float = 10.0
    """a model with SH lighting (``ModelConfig.shading = "sh"``): the lighting's rate relative to the stage's. Adam
    moves each coefficient by about the rate a step; a light's coefficients are 0.1-1, so at the quick stage 1's
    1e-3 a 150-iteration stage could not turn the training heads' mean light off for an unlit photo"""

    def __post_init__(self) -> None:
        if self.scene_init not in ("mean", "base", "landmarks"):
            raise ValueError(f"FitConfig.scene_init must be 'mean', 'base' or 'landmarks', got {self.scene_init!r}")
        if not 0.0 <= self.face_rays <= 1.0:
            raise ValueError(f"FitConfig.face_rays must be in [0, 1], got {self.face_rays!r}")
        if self.head_pose_views < 1:
            raise ValueError(f"FitConfig.head_pose_views must be >= 1, got {self.head_pose_views!r}")
        if self.landmark_views < 1:
            raise ValueError(f"FitConfig.landmark_views must be >= 1, got {self.landmark_views!r}")
        if not self.photo_face_anchor >= 0:
            raise ValueError(f"FitConfig.photo_face_anchor must be >= 0, got {self.photo_face_anchor!r}")
        if not self.one_view_face_anchor >= 0:
            raise ValueError(f"FitConfig.one_view_face_anchor must be >= 0, got {self.one_view_face_anchor!r}")
        if self.scene_subspace < 0:
            raise ValueError(f"FitConfig.scene_subspace must be >= 0, got {self.scene_subspace!r}")
        if not self.face_radius > 0:
            raise ValueError(f"FitConfig.face_radius must be > 0, got {self.face_radius!r}")
        if not self.light_lr_ratio > 0:
            raise ValueError(f"FitConfig.light_lr_ratio must be > 0, got {self.light_lr_ratio!r}")


# --- presets -------------------------------------------------------------------------------------

PAPER_MODEL = ModelConfig()
QUICK_MODEL = ModelConfig(
    sdf_hidden=64, sdf_layers=4, sdf_skip=(2,), pe_freqs=6, feature_dim=32, rgb_hidden=64, rgb_layers=2,
    weight_norm=False, rank=64, sdf_scene_layers=2, rgb_scene_layers=1, bg_hidden=32, bg_layers=2,
)
QUICK_RENDER = RenderConfig(n_samples=32, n_importance=32, up_sample_steps=2)

#: from-scratch NeuS (the --no-prior baseline)
SCRATCH_PRESETS: dict[str, FitConfig] = {
    "paper": FitConfig(
        model=replace(PAPER_MODEL, scene_kind="shared"),
        stages=(StageConfig(name="scratch", params="all", iters=300_000, lr=5e-4, warmup=5000),),
    ),
    "quick": FitConfig(
        model=replace(QUICK_MODEL, scene_kind="shared"),
        render=QUICK_RENDER,
        stages=(StageConfig(name="scratch", params="all", iters=3000, lr=1e-2 / 2, warmup=100,
                            cos_anneal_end=1000),),
        batch_rays=256,
        checkpoint_every=250,
    ),
}


def scale_iters(cfg: FitConfig, iters: int | None) -> FitConfig:
    """The config with its stage budgets scaled so they add up to ``iters`` (warm-up/anneal scaled too); the
    explicit budget holds for any number of views (``iters_one_view`` is dropped)."""
    if iters is None:
        return cfg
    total = sum(s.iters for s in cfg.stages)
    f = iters / total
    stages = tuple(replace(s, iters=max(1, round(s.iters * f)), warmup=min(s.warmup, max(1, round(s.iters * f)) // 4),
                           cos_anneal_end=round(s.cos_anneal_end * f), iters_one_view=None) for s in cfg.stages)
    return replace(cfg, stages=stages)


def for_views(cfg: FitConfig, n_views: int, photo: bool = False, placed: bool = False) -> FitConfig:
    """The config a scene of ``n_views`` views is fitted with: with one view, each stage's
    ``params_one_view`` and ``iters_one_view`` (where set) replace its ``params`` and ``iters``; with more than ``landmark_views`` views the
    landmark start becomes the mean start and the face anchor is off; a ``photo`` (one image without cameras,
    placement method "photo") starts from the landmarks with ``photo_face_anchor`` (when > 0), and a one-view scene
    ``placed`` from its images (its placement holds the detected face) from the mean start to the landmarks with
    ``one_view_face_anchor`` (when > 0); with fewer than ``head_pose_views`` views the head pose stays as placed
    (every stage's ``head_pose_lr_ratio`` 0). Idempotent."""
    if photo and cfg.photo_face_anchor > 0 and n_views == 1:
        cfg = replace(cfg, scene_init="landmarks", loss=replace(cfg.loss, face_anchor=cfg.photo_face_anchor))
    elif placed and n_views == 1 and cfg.scene_init == "mean" and cfg.one_view_face_anchor > 0:
        cfg = replace(cfg, scene_init="landmarks", loss=replace(cfg.loss, face_anchor=cfg.one_view_face_anchor))
    if n_views > cfg.landmark_views and cfg.scene_init == "landmarks":
        cfg = replace(cfg, scene_init="mean", loss=replace(cfg.loss, face_anchor=0.0))
    if n_views < cfg.head_pose_views:
        cfg = replace(cfg, stages=tuple(replace(s, head_pose_lr_ratio=0.0) for s in cfg.stages))
    if n_views != 1:
        return cfg
    return replace(cfg, stages=tuple(
        replace(s, params=s.params if s.params_one_view is None else s.params_one_view, params_one_view=None,
                iters=s.iters if s.iters_one_view is None else s.iters_one_view, iters_one_view=None)
        for s in cfg.stages))


def to_dict(cfg) -> dict:
    """Plain-JSON form of a config (tuples become lists)."""
    return asdict(cfg)


def from_dict(cls, d: dict):
    """Inverse of ``to_dict`` for FitConfig / ModelConfig / ... (unknown keys are an error)."""
    kw = {}
    names = {f.name: f for f in fields(cls)}
    for k, v in d.items():
        if k not in names:
            raise ValueError(f"{cls.__name__}: unknown field {k!r}")
        kw[k] = v
    if cls in (FitConfig, MetaConfig):
        kw["model"] = from_dict(ModelConfig, kw["model"])
        kw["render"] = from_dict(RenderConfig, kw["render"])
        kw["loss"] = from_dict(LossConfig, kw["loss"])
        if "stages" in kw:
            kw["stages"] = tuple(from_dict(StageConfig, s) for s in kw["stages"])
        if "geometry_loss" in kw:
            kw["geometry_loss"] = from_dict(GeometryLossConfig, kw["geometry_loss"])
    if cls is ModelConfig:
        kw["sdf_skip"] = tuple(kw["sdf_skip"])
    if cls is LossConfig and "core_radii" in kw:
        kw["core_radii"] = tuple(kw["core_radii"])
    return cls(**kw)


@dataclass(frozen=True)
class GeometryLossConfig:
    """Loss weights of the 3D-supervised (geometry-and-colour) phase of meta-learning."""

    sdf: float = 10.0
    """L1 weight of the clamped SDF error (unit-sphere units: 0.005 = 1 mm at 200 mm per unit)"""
    sdf_clamp: float = 0.25
    """the predicted and the true SDF are clamped to +-this (50 mm) before the L1 (DeepSDF)"""
    surface: float = 10.0
    """L1 weight of the predicted SDF at surface points (target 0)"""
    normal: float = 1.0
    """weight of |grad f - true normal| at surface points (direction and unit length)"""
    eikonal: float = 0.5
    """(|grad f| - 1)^2 weight at every geometry point"""
    color: float = 1.0
    """L1 weight of the radiance network's colour at surface points against the rendered colour"""
    face_weight: float = 0.0
    """the SDF, surface and normal terms weigh points within face_radius of the canonical nose tip
    (1 + face_weight) times as much (weighted means): the H3DS face region is what the prior must get right"""
    face_radius: float = 0.475
    """radius of that region in unit-sphere units (95 mm, the H3DS face sphere)"""
    code_reg: float = 0.0
    """weight of the step scene's relative deviation from the mean scene, summed over the SDF's scene-specific
    layers (``SceneLinear.relative_deviation``): keeps every head's layers near the mean so that the mean of a
    deep scene-specific space is still a head (0 = off)"""
    mean_anchor: float = 0.0
    """L1 weight of the mean scene's SDF against the base SDF (the ICT neutral) at the step's points within
    face_radius of the nose tip and anchor_band of the true surface; trains the shared weights only, so the scene a
    fit starts from keeps the mean face (0 = off; needs a base SDF)"""
    anchor_band: float = 0.05
    """|true SDF| below which a point counts for mean_anchor (unit-sphere units: 10 mm)"""


@dataclass(frozen=True)
class MetaConfig:
    """Meta-learning a prior over many scenes (one scene per step)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    loss: LossConfig = field(default_factory=lambda: LossConfig(mask=0.0))
    iters: int = 650_000
    """meta-learning iterations (each one scene)"""
    lr: float = 1.8e-4
    """Adam learning rate"""
    warmup: int = 1000
    """linear warm-up iterations"""
    batch_rays: int = 512
    """rays per iteration"""
    views_per_step: int = 8
    """rays come from up to this many random images of the step's scene"""
    background_field: bool = True
    """per-scene NeRF++ background for unmasked images (the paper); False = masks + random background"""
    plateau_patience: int = 20_000
    """iterations without a 1% improvement of the smoothed loss before lr *= plateau_factor"""
    plateau_factor: float = 0.316
    """reduce-on-plateau factor"""
    min_lr_ratio: float = 0.01
    """the plateau schedule never goes below lr * this"""
    cos_anneal_end: int = 50_000
    """NeuS cos-annealing iterations"""
    checkpoint_every: int = 1000
    """iterations between checkpoints (and plot/log flushes)"""
    log_every: int = 50
    """iterations between loss-log lines"""
    seed: int = 0
    """seed of initialisation and sampling (rank r uses seed + 1000 r for sampling)"""
    geometry_iters: int = 0
    """iterations of the 3D-supervised geometry-and-colour phase before the ``iters`` rendering
    iterations (0 = RGB only, the paper); needs synthetic scenes with exact geometry"""
    geometry_lr: float = 3e-3
    """peak learning rate of the geometry phase (cosine to geometry_lr * final_lr_ratio after warm-up)"""
    geometry_final_lr_ratio: float = 0.05
    """the geometry phase's cosine schedule ends at geometry_lr * this"""
    geometry_points: int = 2048
    """near-surface and uniform SDF samples per geometry step"""
    geometry_surface: int = 1024
    """surface samples (normal, colour) per geometry step"""
    geometry_loss: GeometryLossConfig = field(default_factory=GeometryLossConfig)
    """loss weights of the geometry phase"""
    render_geometry_weight: float = 0.0
    """the rendering phase adds the geometry loss (on geometry_points / 4 and geometry_surface / 4 samples of
    the same scene) times this, so volume rendering cannot bend the exact shape (0 = off)"""
    render_init_variance: float | None = None
    """at the start of the rendering phase every scene's variance v is set to this (inv_s = exp(10 v));
    None keeps it (the geometry phase does not move it)"""


META_PRESETS: dict[str, MetaConfig] = {
    "paper": MetaConfig(model=PAPER_MODEL),
    "quick": MetaConfig(
        model=QUICK_MODEL, render=QUICK_RENDER, loss=LossConfig(mask=0.1), iters=20_000, lr=2e-3, warmup=200,
        batch_rays=256, background_field=False, plateau_patience=1500, cos_anneal_end=2000, checkpoint_every=250,
        log_every=25,
    ),
    # 3D supervision (synthetic heads only): a geometry-and-colour phase, then a short rendering phase that
    # keeps half the geometry loss; rank 128 for >= 256 identities (the basis stays ~0.9 M numbers).
    # 120 000 geometry steps (~470 per identity, ~50 min on one thread): the prior's coefficients fitted to a new
    # head's exact geometry come out closer than after 30 000 (assets/prior/MODEL_CARD.md)
    "heads": MetaConfig(
        model=replace(QUICK_MODEL, rank=128, base_sdf="ict_neutral"), render=QUICK_RENDER, loss=LossConfig(mask=0.1),
        geometry_loss=GeometryLossConfig(face_weight=2.0),
        geometry_iters=120_000, iters=1000, geometry_lr=3e-3, geometry_points=1024, geometry_surface=512,
        lr=5e-4, warmup=200, batch_rays=256,
        background_field=False, plateau_patience=1500, cos_anneal_end=0, checkpoint_every=500, log_every=25,
        render_geometry_weight=0.5, render_init_variance=0.5,
    ),
}


#: fitting a new scene on top of a prior (Multi-NeuS §3.4): stage 1 moves the new scene's own
#: parameters + cameras, stage 2 everything at a lower rate; reduce-on-plateau with early stopping.
#: The model config is replaced by the prior's when fitting.
PRIOR_FIT_PRESETS: dict[str, FitConfig] = {
    "paper": FitConfig(
        model=PAPER_MODEL,
        stages=(
            StageConfig(name="stage1", params="scene+cameras", iters=15_000, lr=4e-4, warmup=0, schedule="plateau",
                        plateau_patience=1000, early_stop_drops=4, cos_anneal_end=0),
            StageConfig(name="stage2", params="all+cameras", iters=13_000, lr=6e-5, warmup=0, schedule="plateau",
                        plateau_patience=1000, early_stop_drops=4, cos_anneal_end=0),
        ),
        batch_rays=512,
        loss=LossConfig(core=0.1),  # heads in the canonical frame: the head's centre is inside (issue 16)
    ),
    "quick": FitConfig(
        model=QUICK_MODEL,
        render=QUICK_RENDER,
        stages=(
            # tuned on three fresh heads, one view (assets/prior/MODEL_CARD.md, "Fit preset"): with the base-SDF
            # prior, stage 1 at 3e-3 (the previous default) overshoots (the training heads' coefficients spread
            # ~0.02 a dimension); stage 2 (all weights) at 1/3 of stage 1's rate with a long patience (the plateau
            # schedule at patience 100 stopped stage 2 early). Stage 2 helped the face on the three tuning heads but
            # not on the six-head acceptance run's other look (README "Quality"). With one view, stage 2 moves only
            # the new scene's parameters (+ cameras): on six heads that beat the all-weights stage 2 on both looks,
            # while with three views the all-weights stage 2 was the better one (README "Quality")
            # the head pose shared by all cameras moves at the stage's own rate, with two or more views only
            # (FitConfig.head_pose_views): on the six acceptance heads, three views, it halved the placement's
            # rotation error and won the face on five (1.08 -> 1.01 mm median; assets/prior/MODEL_CARD.md)
            # with one view each stage runs 150 iterations (iters_one_view): on the six acceptance heads half the
            # budget scored level on both looks (train 1.30 / 1.93 mm against 1.34 / 1.97, other 1.53 / 2.26
            # against 1.52 / 2.26; assets/prior/MODEL_CARD.md, "Half the budget") in half the fitting time
            StageConfig(name="stage1", params="scene+cameras", iters=300, iters_one_view=150, lr=1e-3, warmup=0,
                        schedule="plateau", plateau_patience=100, early_stop_drops=3, cos_anneal_end=0,
                        head_pose_lr_ratio=1.0),
            StageConfig(name="stage2", params="all+cameras", params_one_view="scene+cameras", iters=300,
                        iters_one_view=150, lr=3e-4, warmup=0, schedule="plateau", plateau_patience=300,
                        early_stop_drops=3, cos_anneal_end=0, head_pose_lr_ratio=1.0),
        ),
        batch_rays=256,
        loss=LossConfig(core=0.1),  # heads in the canonical frame: the head's centre is inside (issue 16)
        # one view starts from the face the learned regressor reads from the image, held by the face anchor
        # (FitConfig.one_view_face_anchor / photo_face_anchor, applied by for_views; README "Quality")
        checkpoint_every=200,
    ),
}

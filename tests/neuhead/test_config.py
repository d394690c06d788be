"""Fit configs: the one-view stage parameter sets (``for_views``) and their checks."""

import pytest

from neuhead.config import PRIOR_FIT_PRESETS, StageConfig, for_views


def test_for_views_uses_the_one_view_parameter_set_only_for_one_view():
    cfg = PRIOR_FIT_PRESETS["quick"]
    assert [s.params for s in cfg.stages] == ["scene+cameras", "all+cameras"]
    one = for_views(cfg, 1)
    assert [s.params for s in one.stages] == ["scene+cameras", "scene+cameras"]
    assert all(s.params_one_view is None for s in one.stages)
    assert for_views(one, 1) == one  # idempotent: the pipeline may apply it twice
    assert for_views(cfg, 3).stages == cfg.stages and for_views(cfg, 2).stages == cfg.stages
    assert [s.iters for s in one.stages] == [150, 150] and [s.iters for s in cfg.stages] == [300, 300]
    assert all(s.iters_one_view is None for s in one.stages)
    assert [s.iters for s in for_views(cfg, 3).stages] == [300, 300]


def test_an_explicit_budget_holds_for_any_number_of_views():
    from neuhead.config import scale_iters

    cfg = scale_iters(PRIOR_FIT_PRESETS["quick"], 1000)
    assert [s.iters for s in for_views(cfg, 1).stages] == [500, 500]
    assert [s.iters for s in for_views(cfg, 3).stages] == [500, 500]
    with pytest.raises(ValueError, match="iters_one_view"):
        StageConfig(iters_one_view=0)


def test_stage_params_one_view_is_checked():
    with pytest.raises(ValueError, match="params_one_view"):
        StageConfig(params_one_view="everything")
    assert StageConfig(params_one_view=None).params_one_view is None


def test_the_landmark_start_is_for_one_view_only():
    from dataclasses import replace

    from neuhead.config import FitConfig

    cfg = PRIOR_FIT_PRESETS["quick"]
    assert cfg.scene_init == "mean" and cfg.loss.face_anchor == 0.0 and cfg.landmark_views == 1
    cfg = replace(cfg, scene_init="landmarks", loss=replace(cfg.loss, face_anchor=1.0))
    assert for_views(cfg, 1).scene_init == "landmarks" and for_views(cfg, 1).loss.face_anchor > 0
    three = for_views(cfg, 3)
    assert three.scene_init == "mean" and three.loss.face_anchor == 0.0
    assert for_views(three, 3) == three
    with pytest.raises(ValueError, match="landmark_views"):
        FitConfig(landmark_views=0)


def test_a_photo_without_cameras_starts_from_its_landmarks():
    from dataclasses import replace

    from neuhead.config import FitConfig

    cfg = PRIOR_FIT_PRESETS["quick"]
    photo = for_views(cfg, 1, photo=True)
    assert photo.scene_init == "landmarks" and photo.loss.face_anchor == cfg.photo_face_anchor > 0
    assert for_views(photo, 1, photo=True) == photo  # idempotent
    assert for_views(cfg, 1).scene_init == "mean"  # a one-view folder with its camera: the mean start
    off = replace(cfg, photo_face_anchor=0.0)
    assert for_views(off, 1, photo=True) == for_views(off, 1)


def test_a_placed_view_starts_from_the_face_read_from_its_image():
    from dataclasses import replace

    from neuhead.config import FitConfig

    cfg = PRIOR_FIT_PRESETS["quick"]
    one = for_views(cfg, 1, placed=True)
    assert one.scene_init == "landmarks" and one.loss.face_anchor == cfg.one_view_face_anchor > 0
    assert for_views(one, 1, placed=True) == one  # idempotent
    assert for_views(cfg, 3, placed=True).scene_init == "mean"  # more views: the mean start, no anchor
    assert for_views(cfg, 3, placed=True).loss.face_anchor == 0.0
    assert for_views(cfg, 1, placed=False).scene_init == "mean"  # not placed (the file's frame): nothing to read
    base = replace(cfg, scene_init="base")
    assert for_views(base, 1, placed=True).scene_init == "base"  # an explicit start is kept
    assert for_views(replace(cfg, one_view_face_anchor=0.0), 1, placed=True).scene_init == "mean"
    with pytest.raises(ValueError, match="one_view_face_anchor"):
        FitConfig(one_view_face_anchor=-1.0)
    with pytest.raises(ValueError, match="photo_face_anchor"):
        FitConfig(photo_face_anchor=-1.0)


def test_the_head_pose_moves_with_two_or_more_views_only():
    from neuhead.config import FitConfig

    cfg = PRIOR_FIT_PRESETS["quick"]
    assert cfg.head_pose_views == 2 and all(s.head_pose_lr_ratio > 0 for s in cfg.stages)
    assert all(s.head_pose_lr_ratio == 0 for s in for_views(cfg, 1).stages)
    assert all(s.head_pose_lr_ratio == 0 for s in for_views(cfg, 1, photo=True).stages)
    assert for_views(cfg, 3).stages == cfg.stages
    assert for_views(for_views(cfg, 1), 1) == for_views(cfg, 1)
    with pytest.raises(ValueError, match="head_pose_views"):
        FitConfig(head_pose_views=0)
    with pytest.raises(ValueError, match="head_pose_lr_ratio"):
        StageConfig(head_pose_lr_ratio=-1.0)

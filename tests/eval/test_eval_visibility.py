"""Scan visibility: which vertices of a closed mesh an outside ray reaches."""

import numpy as np
import trimesh

from eval.visibility import scan_visible, scan_visible_reference, sphere_directions, submesh


def _nested_boxes():
    """A 40 mm box with a 10 mm box inside it (its vertices can never be seen from outside)."""
    outer = trimesh.creation.box((40.0, 40.0, 40.0))
    inner = trimesh.creation.box((10.0, 10.0, 10.0))
    v = np.vstack([outer.vertices, inner.vertices])
    f = np.vstack([outer.faces, inner.faces + len(outer.vertices)])
    return v, f, len(outer.vertices)


def test_sphere_directions_are_unit_and_spread():
    d = sphere_directions(128)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, atol=1e-12)
    assert np.abs(d.mean(0)).max() < 0.02  # evenly spread: no net direction


def test_inner_surface_is_hidden_outer_is_seen():
    v, f, n_outer = _nested_boxes()
    seen = scan_visible(v, f)
    assert seen[:n_outer].all() and not seen[n_outer:].any()
    np.testing.assert_array_equal(seen, scan_visible_reference(v, f))


def test_fast_matches_reference_on_a_concave_mesh():
    # a torus: the inner ring sees the outside only over part of the sphere, the angle limit matters there
    t = trimesh.creation.torus(30.0, 12.0, major_sections=24, minor_sections=12)
    seen = {}
    for max_angle in (75.0, 5.0):
        fast = scan_visible(t.vertices, t.faces, n_directions=256, max_angle_deg=max_angle)
        ref = scan_visible_reference(t.vertices, t.faces, n_directions=256, max_angle_deg=max_angle)
        assert (fast != ref).sum() <= 1  # a ray grazing an edge may fall either way
        seen[max_angle] = fast.mean()
    # up or down through the hole the inner ring is seen; within 5 degrees of its normal it faces the far side
    assert seen[75.0] == 1.0 and seen[5.0] < 0.9


def test_submesh_drops_hidden_faces_and_remaps():
    v, f, n_outer = _nested_boxes()
    keep = np.zeros(len(v), bool)
    keep[:n_outer] = True
    sv, sf, old_to_new = submesh(v, f, keep)
    assert len(sv) == n_outer and len(sf) == 12
    np.testing.assert_array_equal(sv[old_to_new[:n_outer]], v[:n_outer])
    assert (old_to_new[n_outer:] == -1).all()

import numpy as np
import pytest
from PIL import Image

from eval.plots import bar_chart, error_heatmap, head_view_axes, view_basis


def test_heatmap_png_shows_the_errors(head, tmp_path):
    v, f, nose = head
    err = np.where(v[:, 0] > 0, 5.0, 0.0)  # the head's +x half is wrong by 5 mm
    err[:10] = np.nan  # unscored vertices are allowed (drawn grey)
    front, up = head_view_axes(v, nose)
    path = error_heatmap(v, f, err, tmp_path / "heat.png", front=front, up=up, vmax=5.0, title="t")
    img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    assert img.shape[0] > 300 and img.shape[1] > 600
    # the front view (left half of the figure) has a bright half and a dark half
    left = img[:, : img.shape[1] // 3]
    lum = left.mean(-1)
    drawn = lum < 250  # not white background
    assert drawn.mean() > 0.2
    assert (lum[drawn] > 180).mean() > 0.1 and (lum[drawn] < 60).mean() > 0.1
    assert not list(tmp_path.glob(".*tmp*"))  # atomic: no temp file left


def test_heatmap_rejects_wrong_error_count(head, tmp_path):
    v, f, _ = head
    with pytest.raises(ValueError, match="one error per vertex"):
        error_heatmap(v, f, np.zeros(5), tmp_path / "x.png")


def test_view_basis_is_orthonormal_right_handed():
    r, u, f = view_basis([0, 0.2, 1], [0, 1, 0])
    M = np.stack([r, u, f])
    np.testing.assert_allclose(M @ M.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(M) == pytest.approx(1.0)


def test_bar_chart_png(tmp_path):
    p = bar_chart({"face": {"F": 1.9, "L": np.nan, "mean": 2.0}, "head": {"F": 12.0, "L": 13.0, "mean": 12.5}},
                  tmp_path / "bar.png", reference={"paper": {"face": 1.84, "head": 12.74}})
    img = np.asarray(Image.open(p).convert("RGB")).astype(int)
    assert img.shape[1] > 400

    def count(rgb, part):  # pixels of a bar colour in one panel (left: face, right: head)
        half = img[:, : img.shape[1] // 2] if part == 0 else img[:, img.shape[1] // 2:]
        return int((np.abs(half - np.array(rgb)).sum(-1) < 30).sum())

    blue, red = (0x4C, 0x72, 0xB0), (0xC4, 0x4E, 0x52)  # columns, and the "mean" column
    # bars are drawn to scale: equal widths, so areas go with the values (NaN: no bar)
    assert abs(count(blue, 0) / count(red, 0) - 1.9 / 2.0) < 0.12
    assert abs(count(blue, 1) / count(red, 1) - (12.0 + 13.0) / 12.5) < 0.2

"""Regenerate ``assets/sample_scene``: the analytic Snowman (mm, off the origin), 24 views of 128², NeuS format.

    python scripts/make_sample_scene.py
"""

from pathlib import Path

from neuhead.data.analytic import make_sample_scene
from neuhead.data.neus import write_neus

if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "assets" / "sample_scene"
    write_neus(make_sample_scene(n_views=24, res=128, seed=0), out)
    print(f"wrote {out}")

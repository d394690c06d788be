"""Write a small textured GLB through the real export path (analytic torus, position colours), for CI:

    python tools/webcheck/sample_glb.py /tmp/sample.glb && tools/webcheck/check_glb.sh /tmp/sample.glb /tmp/sample.png
"""

import sys

import numpy as np

from meshing import shapes
from meshing.export import export_asset


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tools/webcheck/sample_glb.py OUT.glb", file=sys.stderr)
        return 2
    to_world = np.diag([110.0, 110.0, 110.0, 1.0])  # a 220 mm-ish object in a millimetre world
    to_world[:3, 3] = [30.0, -20.0, 500.0]
    rep = export_asset(shapes.torus_sdf(0.5, 0.2), shapes.position_color, to_world, argv[0], world_units="mm",
                       resolution=128, faces=20_000, texture=1024)
    print(f"wrote {argv[0]}: {rep.faces} faces, {rep.texture_size}² texture")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

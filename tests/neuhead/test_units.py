"""Unknown world units are guessed from the head's size in the canonical frame; --world-units overrides."""

import numpy as np
import pytest

from neuhead.data.canonical import CANONICAL_TO_WORLD
from neuhead.reconstruction import Reconstruction, guess_units


def test_guess_units():
    assert guess_units(1.0) == "mm" and guess_units(1.6) == "mm" and guess_units(0.6) == "mm"
    assert guess_units(0.1) == "cm" and guess_units(0.001) == "m" and guess_units(0.0013) == "m"
    for x in (0.03, 0.01, 5.0, 0.0, -1.0, float("nan")):  # between units, or no head size at all
        assert guess_units(x) is None


@pytest.mark.parametrize("world_per_mm, want", [(1.0, "mm"), (0.1, "cm"), (0.001, "m"), (0.02, "unit")])
def test_export_units_from_the_canonical_frame(world_per_mm, want):
    # a scene placed in the canonical frame: to_world = S^-1 @ CANONICAL_TO_WORLD, S^-1 scales mm -> world units
    S_inv = np.diag([world_per_mm] * 3 + [1.0])
    S_inv[:3, 3] = [3.0, -1.0, 40.0]
    recon = Reconstruction(model=None, scene_index=0, to_world=S_inv @ CANONICAL_TO_WORLD, world_units="unit")
    units, notes = recon.export_units()
    assert units == want
    assert (len(notes) == 1 and want in notes[0] and "--world-units" in notes[0]) if want != "unit" else notes == []
    assert recon.export_units("cm") == ("cm", ["world units set to cm by the user"])
    known = Reconstruction(model=None, scene_index=0, to_world=S_inv @ CANONICAL_TO_WORLD, world_units="m")
    assert known.export_units() == ("m", [])

"""Loading and writing scenes: NeuS/IDR folders, H3DS folders, single photos, synthetic heads."""

from neuhead.data.scene import Scene
from neuhead.data.neus import load_neus, write_neus

__all__ = ["Scene", "load_neus", "write_neus"]

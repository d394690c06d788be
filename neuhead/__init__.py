"""neuhead: 3D heads (textured mesh + signed distance field) from one to three photos, with Multi-NeuS."""

from neuhead.api import fit, fit_scene
from neuhead.data import Scene, load_neus, write_neus
from neuhead.reconstruction import Reconstruction, load_reconstruction

__version__ = "0.1.0"
__all__ = ["fit", "fit_scene", "Scene", "load_neus", "write_neus", "Reconstruction", "load_reconstruction"]

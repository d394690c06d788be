"""Behaviour check for refactors: hash the mesh of two short seeded fits (the analytic scene from scratch, a fresh head with the shipped prior). Same code and presets -> same hashes.

    OMP_NUM_THREADS=1 python scripts/fit_hash.py
"""
import hashlib, numpy as np, torch, sys
torch.set_num_threads(1)
from neuhead.data.analytic import make_sample_scene
from neuhead.data.synthetic import make_head_scene
import neuhead
def h(mesh): return hashlib.sha256(np.round(np.asarray(mesh.vertices), 5).tobytes()).hexdigest()[:16]
s = make_sample_scene(n_views=8, res=48, seed=1)
r1 = neuhead.fit_scene(s, "quick", None, iters=20, seed=0)
head, _ = make_head_scene(9_100_000, n_views=1, res=128, rig="portrait")
r2 = neuhead.fit_scene(head, "quick", "default", iters=20, seed=0)
print("scratch", h(r1.extract_mesh(64)), "prior", h(r2.extract_mesh(64)))

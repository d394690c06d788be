"""Evaluation: reads meshes and arrays, imports nothing from ``neuhead``.

- ``eval.align``: Umeyama / landmark similarity and ICP (never a reflection), and the H3DS
  toolbox's own alignment (``h3ds_icp``: trimesh defaults, scale and reflection allowed).
- ``eval.chamfer``: the H3DS metric (GT vertex -> nearest predicted vertex, input units),
  face_sphere / region selection, surface-sampled symmetric Chamfer and F-score.
- ``eval.images``: masked PSNR / SSIM, control-camera refinement, novel-view evaluation.
- ``eval.meshio``: reading meshes, landmark and region files with clear errors.
- ``eval.evaluate``: evaluate mesh files (what ``neuhead eval`` and the benchmark runner call).
- ``eval.plots``: per-vertex error heatmaps, benchmark bar charts (matplotlib, Agg).
"""

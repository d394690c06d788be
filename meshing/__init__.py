"""From an SDF callable to meshes, textures and SDF artefacts. Takes callables and arrays, never a model.

Inputs everywhere:

- ``sdf_fn(points (n, 3) float32, unit-sphere frame) -> (n,)`` signed distance, negative inside;
- ``color_fn(points (n, 3), normals (n, 3)) -> (n, 3)`` RGB in [0, 1] (view direction = -normal);
- ``to_world`` (4, 4): unit-sphere frame → the scene's world frame; ``world_units`` in mm/cm/m/unit.

Modules (flat, one topic each):

- :mod:`meshing.grid` — dense SDF grid + marching cubes (reference) and the hierarchical path (same
  triangles, SDF evaluated only near the surface);
- :mod:`meshing.extract` — ``extract_surface`` / ``extract_mesh`` (clean-up, world frame, vertex colours);
- :mod:`meshing.cleanup` — largest component, hole filling, quadric decimation;
- :mod:`meshing.texture` — xatlas atlas, texel rasterisation, bake (field, or input photos projected and
  blended with the field), dilation;
- :mod:`meshing.raster` — numpy z-buffer of a mesh seen by a pinhole camera (visibility, previews);
- :mod:`meshing.frames` — units and axis conventions of the files;
- :mod:`meshing.export` — ``export_asset``: GLB / OBJ+MTL+PNG / PLY (+ SDF grid and network) in one call;
- :mod:`meshing.sdf_export` — SDF grid ``.npz`` and TorchScript / ONNX network taking world points;
- :mod:`meshing.preview` — textured renders, sphere-traced oracle, PSNR, turntable;
- :mod:`meshing.viewer` — ``viewer.html``: a GLB and three.js in one offline page;
- :mod:`meshing.shapes` — analytic SDFs and colours for tests and benchmarks;
- :mod:`meshing.errors` — ``MeshingError`` (a ``ValueError``), ``EmptyMeshError``, ``ExportError``.
"""

#!/usr/bin/env bash
# Validate a GLB with the Khronos glTF validator (0 errors required), then load it in three.js in
# headless Chromium and save a screenshot (a turntable of VIEWS azimuths, default 8).
#   tools/webcheck/check_glb.sh FILE.glb OUT.png [VIEWS]
# Needs Node >= 18 and Debian `chromium` (or CHROMIUM=/path); run `npm ci` in tools/webcheck once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -lt 2 ]; then echo "usage: $0 FILE.glb OUT.png [VIEWS]" >&2; exit 2; fi
if [ ! -d "$here/node_modules/gltf-validator" ]; then
  echo "tools/webcheck: node modules missing; run: (cd $here && npm ci)" >&2; exit 2
fi
node "$here/validate.mjs" "$1"
node "$here/render.mjs" "$1" "$2" --views "${3:-8}"

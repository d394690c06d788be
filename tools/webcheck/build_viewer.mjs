// Build meshing/_vendor/three-viewer.min.js (one IIFE: three.js + OrbitControls + GLTFLoader, from the
// three version pinned in package.json) that meshing/viewer.py inlines into viewer.html. Run after
// changing the three version, and commit the output:   (cd tools/webcheck && npm ci && node build_viewer.mjs)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const vendor = path.join(here, '..', '..', 'meshing', '_vendor');
const version = JSON.parse(fs.readFileSync(path.join(here, 'node_modules', 'three', 'package.json'))).version;
await esbuild.build({
  entryPoints: [path.join(here, 'viewer_entry.js')],
  bundle: true, minify: true, format: 'iife', target: 'es2020', legalComments: 'none',
  banner: { js: `/* three.js r${version.split('.')[1]} (npm three@${version}) + OrbitControls + GLTFLoader, MIT licence: see THREE_LICENSE.txt */` },
  outfile: path.join(vendor, 'three-viewer.min.js'),
});
fs.copyFileSync(path.join(here, 'node_modules', 'three', 'LICENSE'), path.join(vendor, 'THREE_LICENSE.txt'));
console.log(`wrote ${path.join(vendor, 'three-viewer.min.js')} (three@${version})`);

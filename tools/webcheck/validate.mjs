// Khronos glTF validator on one .glb/.gltf file: prints a summary, exits 1 if there is any error.
//   node validate.mjs FILE.glb [REPORT.json]
import fs from 'node:fs';
import path from 'node:path';
import validator from 'gltf-validator';

const [file, reportPath] = process.argv.slice(2);
if (!file) {
  console.error('usage: node validate.mjs FILE.glb [REPORT.json]');
  process.exit(2);
}
let bytes;
try {
  bytes = new Uint8Array(fs.readFileSync(file));
} catch (e) {
  console.error(`${file}: cannot read (${e.message})`);
  process.exit(2);
}
const report = await validator.validateBytes(bytes, {
  uri: path.basename(file),
  maxIssues: 200,
  externalResourceFunction: (uri) =>
    new Promise((resolve, reject) => {
      fs.readFile(path.join(path.dirname(file), decodeURIComponent(uri)), (err, data) =>
        err ? reject(err.toString()) : resolve(new Uint8Array(data)));
    }),
});
if (reportPath) fs.writeFileSync(reportPath, JSON.stringify(report, null, 2));
const i = report.issues;
const info = report.info || {};
console.log(`${file}: ${i.numErrors} errors, ${i.numWarnings} warnings, ${i.numInfos} infos, ${i.numHints} hints; ` +
  `${info.totalVertexCount ?? '?'} vertices, ${info.totalTriangleCount ?? '?'} triangles, ` +
  `${info.materialCount ?? '?'} materials, textures: ${info.hasTextures ?? '?'}`);
for (const m of i.messages.filter((m) => m.severity <= 1).slice(0, 20)) {
  console.log(`  [${m.severity === 0 ? 'error' : 'warning'}] ${m.code} ${m.pointer ?? ''}: ${m.message}`);
}
process.exit(i.numErrors > 0 ? 1 : 0);

// Load a GLB in three.js inside headless Chromium and screenshot it; exits 1 on any page error.
//   node render.mjs FILE.glb OUT.png [--views 8] [--tile 384] [--chromium /usr/bin/chromium]
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : dflt; };
const views = opt('--views', '1'), tile = opt('--tile', '384');
const chromium = opt('--chromium', process.env.CHROMIUM || '/usr/bin/chromium');
const [glb, out] = args;
if (!glb || !out) {
  console.error('usage: node render.mjs FILE.glb OUT.png [--views N] [--tile PX] [--chromium PATH]');
  process.exit(2);
}
if (!fs.existsSync(glb)) { console.error(`${glb}: no such file`); process.exit(2); }

const types = { '.html': 'text/html', '.js': 'text/javascript', '.glb': 'model/gltf-binary' };
const server = http.createServer((req, res) => {
  const url = decodeURIComponent(req.url.split('?')[0]);
  let file = null;
  if (url === '/' || url === '/index.html') file = path.join(here, 'index.html');
  else if (url === '/model.glb') file = path.resolve(glb);
  else if (url.startsWith('/three/')) file = path.join(here, 'node_modules', url.slice(1));
  if (!file || !file.startsWith(here) && file !== path.resolve(glb) || !fs.existsSync(file)) {
    res.writeHead(404); res.end(); return;
  }
  res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;

const problems = [];
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
let status = 'not run';
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  const cols = Math.min(Number(views), 4);
  await page.setViewport({ width: cols * Number(tile), height: Math.ceil(Number(views) / cols) * Number(tile) });
  await page.goto(`http://127.0.0.1:${port}/index.html?views=${views}&tile=${tile}`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__status !== 'loading', { timeout: 120000 });
  status = await page.evaluate(() => window.__status);
  const info = await page.evaluate(() => window.__info || null);
  await page.screenshot({ path: out });
  console.log(`${glb}: three.js ${status}` + (info ? ` (${info.meshes} mesh(es), ${info.textured} textured)` : '') +
    `; screenshot ${out}`);
} finally {
  await browser.close();
  server.close();
}
for (const p of problems) console.log(`  ${p}`);
process.exit(status === 'ok' && problems.length === 0 ? 0 : 1);

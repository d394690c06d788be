// Open a viewer.html (meshing/viewer.py) from file:// in headless Chromium with the network cut off, wait
// for three.js to load the embedded GLB, check the canvas is not blank and save a screenshot.
//   node check_viewer.mjs viewer.html OUT.png [--size 640] [--chromium /usr/bin/chromium]
// Exits 1 on a page error, any request that is not file:/data:/blob:, a status other than 'ok', or a
// canvas with fewer than 2% of its pixels away from the background colour.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : dflt; };
const size = Number(opt('--size', '640'));
const chromium = opt('--chromium', process.env.CHROMIUM || '/usr/bin/chromium');
const [page_, out] = args;
if (!page_ || !out) { console.error('usage: node check_viewer.mjs viewer.html OUT.png [--size PX]'); process.exit(2); }
if (!fs.existsSync(page_)) { console.error(`${page_}: no such file`); process.exit(2); }

const problems = [];
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist',
         '--allow-file-access-from-files'],
});
let status = 'not run', stats = null;
try {
  const page = await browser.newPage();
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    const u = r.url();
    if (/^(file|data|blob):/.test(u)) r.continue();
    else { problems.push(`network request (blocked): ${u}`); r.abort(); }
  });
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => { if (!/^(https?|wss?):/.test(r.url())) problems.push(`request failed: ${r.url()}`); });
  await page.setViewport({ width: size, height: size });
  await page.goto(pathToFileURL(path.resolve(page_)).href, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__status && window.__status !== 'loading', { timeout: 120000 });
  status = await page.evaluate(() => window.__status);
  await new Promise((r) => setTimeout(r, 300)); // a few animation frames
  stats = await page.evaluate(() => {
    const c = document.querySelector('canvas');
    if (!c) return null;
    const gl = c.getContext('webgl2') || c.getContext('webgl');
    const w = gl.drawingBufferWidth, h = gl.drawingBufferHeight, px = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
    const bg = [px[0], px[1], px[2]];
    let fg = 0, centre = 0, centreN = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = 4 * (y * w + x);
      const d = Math.abs(px[i] - bg[0]) + Math.abs(px[i + 1] - bg[1]) + Math.abs(px[i + 2] - bg[2]);
      const on = d > 24;
      fg += on;
      if (Math.abs(x - w / 2) < w / 8 && Math.abs(y - h / 2) < h / 8) { centre += on; centreN++; }
    }
    return { width: w, height: h, foreground: fg / (w * h), centre: centre / centreN, info: window.__info || null };
  });
  await page.screenshot({ path: out });
} finally {
  await browser.close();
}
const info = stats && stats.info;
console.log(`${page_}: ${status}` + (info ? ` (${info.meshes} mesh(es), ${info.textured} textured)` : '') +
  (stats ? `; ${(100 * stats.foreground).toFixed(1)}% of the canvas and ${(100 * stats.centre).toFixed(0)}% of its centre drawn` : '') +
  `; screenshot ${out}`);
if (!stats || stats.foreground < 0.02) problems.push('the canvas is blank');
for (const p of problems) console.log(`  ${p}`);
process.exit(status === 'ok' && problems.length === 0 ? 0 : 1);

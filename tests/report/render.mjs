// Opens a report file in headless Chromium (playwright-core) with the network off, and
// prints what the page shows as JSON: console errors, failed or attempted requests, the
// charts (an SVG each, with its marks), the numbers marked with data-stat, any element or
// script the page should not have; saves a full-page screenshot.
// usage: node render.mjs --file REPORT.html --screenshot OUT.png --playwright DIR --chromium PATH
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const key of ['file', 'screenshot', 'playwright', 'chromium']) if (!opt[key]) throw new Error(`--${key} is required`);
const { chromium } = createRequire(path.join(opt.playwright, 'package.json'))('playwright-core');

const browser = await chromium.launch({
  executablePath: opt.chromium,
  args: ['--no-sandbox', '--disable-gpu', '--no-proxy-server', '--proxy-server=127.0.0.1:9', '--disable-background-networking'],
});
const out = { console: [], pageErrors: [], requests: [], cspViolations: 0 };
try {
  const context = await browser.newContext({ offline: true, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') out.console.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => out.pageErrors.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith('file:')) out.requests.push(r.url()); });
  const url = pathToFileURL(opt.file).href;
  const response = await page.goto(url, { waitUntil: 'load' });
  out.loaded = response !== null && response.ok();
  out.title = await page.title();
  Object.assign(out, await page.evaluate(() => {
    const stats = {};
    for (const el of document.querySelectorAll('[data-stat]')) {
      const key = el.getAttribute('data-stat');
      (stats[key] ||= []).push(el.textContent.trim());
    }
    const charts = [...document.querySelectorAll('figure[data-chart]')].map((f) => {
      const svg = f.querySelector('svg');
      const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
      return {
        name: f.getAttribute('data-chart'),
        caption: f.querySelector('figcaption')?.textContent ?? '',
        width: box.width,
        height: box.height,
        marks: svg ? svg.querySelectorAll('path, rect, line, circle, text').length : 0,
        texts: svg ? [...svg.querySelectorAll('text')].map((t) => t.textContent) : [],
      };
    });
    return {
      stats,
      charts,
      tooFew: document.getElementById('too-few')?.textContent ?? null,
      scripts: document.querySelectorAll('script').length,
      images: document.querySelectorAll('img').length,
      bodyText: document.body.innerText,
      csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null,
    };
  }));
  await page.screenshot({ path: opt.screenshot, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));

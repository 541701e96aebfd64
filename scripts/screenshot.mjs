// `npm run screenshot`: docs/summary.png, the demo's job summary as GitHub renders it in a 1,280 px window, and a
// check that it reads there: every table's width against the summary column, and every Mermaid diagram drawn.
// A maintainer tool, not part of `npm test`: it needs Debian's chromium (see CHROMIUM_HELP) and a built dist/.
//
//   npm run screenshot                          the demo's override run → docs/summary.png
//   npm run screenshot -- --run 1               another demo run (0 dry run, 1 first, 2 re-run, 3 override)
//   npm run screenshot -- --markdown FILE       any job summary file instead of the demo's
//   npm run screenshot -- --out PNG             somewhere else than docs/summary.png
//
// Exit status: 0 all reads at 1,280 px; 1 a table is wider than the column or wraps rows, or a diagram failed (the
// PNG is written all the same, to look at); 2 it could not run (no chromium, no dist/, the demo failed).
/* global document, window, mermaid, getComputedStyle */
import { spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
// micromark + its GFM extension: like cmark-gfm they pass the CommonMark and GFM spec tests, tagfilter included.
import { micromark } from 'micromark';
import { gfm, gfmHtml } from 'micromark-extension-gfm';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WINDOW_WIDTH = 1280;
// The job summary's content column at a 1,280 px window, an estimate (not measured on github.com): 1,280 − the
// run page's job sidebar (~256) − page gutters (2 × 24) − the summary card's padding and border (~26) ≈ 950.
const COLUMN_WIDTH = 950;
const PROCESS_TIMEOUT_MS = 120_000;
// Virtual time, not wall time: Chromium fast-forwards idle timers, so this only bounds a diagram that never ends.
const VIRTUAL_TIME_BUDGET_MS = 30_000;
const CHROMIUM_HELP = [
  'chromium not found. This maintainer tool takes its screenshots with Debian’s headless Chromium:',
  '  sudo apt-get update && sudo apt-get install -y chromium fonts-noto-color-emoji fonts-liberation fonts-dejavu-core',
  'or point CHROMIUM=/path/to/chrome at another Chromium or Chrome.',
].join('\n');

const { values: options } = parseArgs({
  options: {
    markdown: { type: 'string' },
    out: { type: 'string', default: path.join(root, 'docs', 'summary.png') },
    run: { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (options.help) {
  console.log('usage: node scripts/screenshot.mjs [--markdown FILE | --run N] [--out PNG]');
  process.exit(0);
}

const chromium = await findChromium();
if (!chromium) {
  console.error(CHROMIUM_HELP);
  process.exit(2);
}

const work = await mkdtemp(path.join(os.tmpdir(), 'oncall-access-screenshot-'));
try {
  const markdown = options.markdown
    ? await readFile(options.markdown, 'utf8')
    : await demoSummary(work, Number(options.run));
  const pagePath = path.join(work, 'summary.html');
  await writeFile(pagePath, await summaryPage(markdown));

  const dom = await runChromium(chromium, work, [
    '--dump-dom',
    `--window-size=${WINDOW_WIDTH},800`,
    pagePath,
  ]);
  const encoded = /<body data-measured="([A-Za-z0-9+/=]*)"/.exec(dom)?.[1];
  if (encoded === undefined) throw new Error('the page did not finish rendering (Mermaid still drawing?)');
  const measured = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));

  await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
  await runChromium(chromium, work, [
    `--screenshot=${path.resolve(options.out)}`,
    `--window-size=${WINDOW_WIDTH},${measured.pageHeight}`,
    pagePath,
  ]);
  const png = await readFile(options.out);
  console.log(`${options.out}: ${png.readUInt32BE(16)} × ${png.readUInt32BE(20)} px`);
  process.exitCode = report(measured) ? 0 : 1;
} catch (error) {
  console.error(`screenshot: ${error.message}`);
  process.exitCode = 2;
} finally {
  await rm(work, { recursive: true, force: true });
}

/** Prints what was measured; false when a table overflows the column or a diagram failed. */
function report({ columnWidth, tables, diagrams }) {
  let fits = true;
  console.log(`summary column: ${columnWidth} px`);
  tables.forEach((table, i) => {
    const label = `table ${i + 1} (${table.rows} rows, ${table.headers.length} columns)`;
    const over = table.width - columnWidth;
    if (over > 0) {
      fits = false;
      console.log(
        `✗ ${label}: ${table.width} px, ${over} px wider than the column; cut off: ${table.cut.join(', ')}`,
      );
    } else console.log(`✓ ${label}: ${table.width} px, within the column`);
    // One line per row is what makes a table readable at a glance; GitHub's CSS wraps cells before it scrolls.
    if (table.multiLineRows > 0) {
      fits = false;
      console.log(
        `✗ ${label}: ${table.multiLineRows} rows wrap (up to ${table.maxLines} lines); one line per row needs ${table.oneLineWidth} px`,
      );
    } else console.log(`✓ ${label}: one line per row`);
  });
  diagrams.forEach((diagram, i) => {
    if (diagram.error) {
      fits = false;
      console.log(`✗ diagram ${i + 1}: Mermaid failed: ${diagram.error}`);
    } else console.log(`✓ diagram ${i + 1}: ${Math.round(diagram.width)} × ${Math.round(diagram.height)} px`);
  });
  if (!fits) console.error('screenshot: the summary does not read at 1,280 px (see ✗ above)');
  return fits;
}

/** Runs the demo (scripts/demo.mjs) and returns the job summary of its run number `run`. */
async function demoSummary(work, run) {
  await access(path.join(root, 'dist', 'index.js')).catch(() => {
    throw new Error('dist/index.js is missing: run `npm run build` first');
  });
  const summaryDir = path.join(work, 'summaries');
  const { code, output } = await runProcess(process.execPath, [path.join(root, 'scripts', 'demo.mjs')], {
    env: { ...process.env, DEMO_SUMMARY_DIR: summaryDir },
  });
  if (code !== 0) throw new Error(`the demo failed (exit ${code}):\n${output}`);
  return readFile(path.join(summaryDir, `run-${run}.md`), 'utf8').catch(() => {
    throw new Error(`the demo has no run ${run}`);
  });
}

/** A GitHub-like page: the summary card with github-markdown-css (light), Mermaid from node_modules, no network. */
async function summaryPage(markdown) {
  // allowDangerousHtml: raw HTML passes as on GitHub (<details>, entities); tagfilter still defuses <script> etc.
  const html = micromark(markdown, {
    extensions: [gfm()],
    htmlExtensions: [gfmHtml()],
    allowDangerousHtml: true,
  });
  const css = await readFile(
    path.join(root, 'node_modules/github-markdown-css/github-markdown-light.css'),
    'utf8',
  );
  const mermaidUrl = pathToFileURL(path.join(root, 'node_modules/mermaid/dist/mermaid.min.js')).href;
  // JSON with `<` escaped cannot close the <script> it sits in.
  const json = (value) => JSON.stringify(value).replaceAll('<', '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>job summary</title>
<style>${css}</style>
<style>
  body { margin: 0; background: #fff; }
  .card { width: fit-content; margin: 24px auto; border: 1px solid #d1d9e0; border-radius: 6px; }
  .card-header { padding: 16px 24px 0; font: 600 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial,
    sans-serif; color: #1f2328; box-sizing: content-box; }
  .card .markdown-body { box-sizing: content-box; width: ${COLUMN_WIDTH}px; padding: 16px 24px 24px; }
  .mermaid-frame { border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px; margin-bottom: 16px; }
  .mermaid-error { color: #d1242f; white-space: pre-wrap; }
</style>
<script src="${mermaidUrl}"></script>
</head><body>
<div class="card"><div class="card-header">oncall-access summary</div><article class="markdown-body" id="summary"></article></div>
<script>(${renderInPage})(${json(html)});</script>
</body></html>
`;
}

// Runs in Chromium: sanitizes like GitHub (enough for a summary), draws each ```mermaid block, then measures and
// leaves the result, base64 JSON, in <body data-measured> for --dump-dom.
async function renderInPage(html) {
  const template = document.createElement('template');
  template.innerHTML = html; // inert: nothing in a <template> runs or loads
  const content = template.content;
  const blocks = [...content.querySelectorAll('pre > code.language-mermaid')].map((code) => {
    const frame = document.createElement('div');
    frame.className = 'mermaid-frame';
    frame.dataset.source = code.textContent;
    code.parentElement.replaceWith(frame);
    return frame;
  });
  // GitHub drops event handlers, style and class from user HTML.
  for (const element of content.querySelectorAll('*')) {
    if (element.classList.contains('mermaid-frame')) continue;
    for (const { name } of [...element.attributes])
      if (/^on/i.test(name) || name === 'style' || name === 'class') element.removeAttribute(name);
  }
  const summary = document.getElementById('summary');
  summary.append(content);

  mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'default' });
  const diagrams = [];
  for (const [i, frame] of blocks.entries()) {
    try {
      const { svg } = await mermaid.render(`mermaid-${i}`, frame.dataset.source);
      frame.innerHTML = svg;
      const box = frame.querySelector('svg').getBoundingClientRect();
      const drewError = frame.querySelector('svg[aria-roledescription="error"]');
      diagrams.push(
        drewError ? { error: 'Mermaid drew its error diagram' } : { width: box.width, height: box.height },
      );
    } catch (error) {
      frame.className = 'mermaid-frame mermaid-error';
      frame.textContent = `Mermaid: ${error.message ?? error}`;
      diagrams.push({ error: String(error.message ?? error).split('\n')[0] });
    }
  }

  // Mermaid leaves its scratch elements (and, after a syntax error, its bomb picture) at the end of <body>.
  for (const child of [...document.body.children]) if (!child.matches('.card, script')) child.remove();

  const columnWidth = summary.clientWidth - parseFloat(getComputedStyle(summary).paddingLeft) * 2;
  const tables = [...summary.querySelectorAll('table')].map((table) => {
    const left = table.getBoundingClientRect().left;
    const headers = [...(table.rows[0]?.cells ?? [])];
    const rows = [...table.tBodies].flatMap((body) => [...body.rows]);
    const lines = rows.map((row) =>
      Math.max(
        ...[...row.cells].map((cell) => {
          const style = getComputedStyle(cell);
          const inner = cell.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
          return Math.round(inner / parseFloat(style.lineHeight));
        }),
      ),
    );
    // The width one line per row would take: the same table with no wrapping and no column limit.
    const unwrapped = table.cloneNode(true);
    unwrapped.style.cssText = 'white-space: nowrap; max-width: none; position: absolute; visibility: hidden';
    summary.append(unwrapped);
    const oneLineWidth = Math.ceil(unwrapped.scrollWidth);
    unwrapped.remove();
    const name = (cell) => cell.textContent.trim();
    return {
      width: Math.ceil(table.scrollWidth),
      oneLineWidth,
      rows: rows.length,
      headers: headers.map(name),
      cut: headers
        .filter((cell) => cell.getBoundingClientRect().right - left > columnWidth + 0.5)
        .map((cell) =>
          cell.getBoundingClientRect().left - left < columnWidth ? `${name(cell)} (partly)` : name(cell),
        ),
      multiLineRows: lines.filter((n) => n > 1).length,
      maxLines: Math.max(0, ...lines),
    };
  });
  const measured = {
    columnWidth,
    tables,
    diagrams,
    pageHeight:
      Math.ceil(window.scrollY + document.querySelector('.card').getBoundingClientRect().bottom) + 24,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(measured));
  document.body.dataset.measured = btoa(String.fromCharCode(...bytes));
  window.scrollTo(0, 0);
}

async function findChromium() {
  const candidates = process.env.CHROMIUM
    ? [process.env.CHROMIUM]
    : ['chromium', 'chromium-browser', 'google-chrome'].flatMap((name) =>
        (process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, name)),
      );
  for (const candidate of candidates)
    if (
      await access(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  return undefined;
}

/** Headless Chromium with its own profile, no network (every host name fails to resolve) and a time limit. */
async function runChromium(chromium, work, args) {
  const flags = [
    '--headless',
    '--disable-gpu',
    '--hide-scrollbars',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--host-resolver-rules=MAP * ~NOTFOUND',
    `--user-data-dir=${path.join(work, 'profile')}`,
    `--virtual-time-budget=${VIRTUAL_TIME_BUDGET_MS}`,
    // Chromium refuses to start as root with its sandbox (containers, CI); as a normal user it keeps it.
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  ];
  const { code, output, stdout } = await runProcess(chromium, [...flags, ...args], {});
  if (code !== 0) throw new Error(`chromium failed (exit ${code}):\n${output}`);
  return stdout;
}

function runProcess(command, args, { env = process.env }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      output += chunk;
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? `${signal} after ${PROCESS_TIMEOUT_MS / 1000} s?` : code, stdout, output });
    });
  });
}

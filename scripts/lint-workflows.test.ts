import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseRules } from '../src/rules.js';
import {
  checkRunScripts,
  findShellcheck,
  formatFinding,
  lintWorkflows,
  usesProblem,
} from './lint-workflows.mjs';

const repoRoot = path.resolve(import.meta.dirname, '..');

/** The 1-based line of the first line holding `text` in a file of this repository, for expected positions. */
function lineOf(file: string, text: string): number {
  return (
    readFileSync(path.join(repoRoot, file), 'utf8')
      .split('\n')
      .findIndex((line) => line.includes(text)) + 1
  );
}

describe('lintWorkflows', () => {
  it('finds nothing wrong in action.yml, the workflows and the examples', async () => {
    const { targets, findings } = await lintWorkflows(repoRoot);
    expect(findings.map(formatFinding)).toEqual([]);
    expect(targets).toEqual(
      expect.arrayContaining([
        { file: 'action.yml', kind: 'action' },
        { file: '.github/workflows/ci.yml', kind: 'workflow' },
        { file: '.github/workflows/oncall-access.yml', kind: 'workflow' },
        { file: 'examples/oncall-access.yml', kind: 'workflow' },
        { file: 'examples/oncall-access-caller.yml', kind: 'workflow' },
        { file: 'examples/oncall-access-rules.yml', kind: 'rules' },
      ]),
    );
  });

  describe('on a broken copy', () => {
    let root: string;
    let messages: string[];
    beforeAll(async () => {
      root = await mkdtemp(path.join(os.tmpdir(), 'lint-workflows-'));
      await mkdir(path.join(root, '.github/workflows'), { recursive: true });
      await mkdir(path.join(root, 'examples'));
      await writeFile(
        path.join(root, 'action.yml'),
        (await readFile(path.join(repoRoot, 'action.yml'), 'utf8')).replace('using: node24', 'using: node99'),
      );
      await cp(
        path.join(repoRoot, '.github/workflows/oncall-access.yml'),
        path.join(root, '.github/workflows/oncall-access.yml'),
      );
      await writeFile(
        path.join(root, '.github/workflows/broken.yml'),
        [
          'on: push',
          'jobs:',
          '  direct:',
          '    runs-on: ubuntu-latest',
          '    steps:',
          '      - uses: actions/checkout@v5',
          '      - uses: actions/setup-node@a0853c24544627f65ddf259abe73b1d18a591444',
          '      - run: echo "${{ github.event.head_commit.message }}"',
          '        shell: bsh',
          '      - uses: acme/oncall-access@v1',
          '        with:',
          '          pagerduty-tokn: x',
          '  reusable:',
          '    uses: acme/oncall-access/.github/workflows/oncall-access.yml@v1',
          '    with:',
          '      bogus: 1',
          '    secrets:',
          '      pagerduty-token: x',
          '',
        ].join('\n'),
      );
      // Same file name as a workflow in .github/workflows: each must be checked as itself.
      await writeFile(
        path.join(root, 'examples/oncall-access.yml'),
        (await readFile(path.join(repoRoot, 'examples/oncall-access.yml'), 'utf8')).replace(
          'revoke-stale: false',
          'revoke-stal: false',
        ),
      );
      messages = (await lintWorkflows(root)).findings.map(formatFinding);
    }, 120_000);
    afterAll(() => rm(root, { recursive: true, force: true }));

    it.each([
      [
        'action.yml: an unknown runtime (GitHub schema)',
        `action.yml:${lineOf('action.yml', 'using: node24')}:10: Unexpected value 'node99' [github-parser]`,
      ],
      ['an invalid shell (actionlint)', '.github/workflows/broken.yml:9:16: shell name "bsh" is invalid'],
      [
        'untrusted input in a script (actionlint)',
        '"github.event.head_commit.message" is potentially untrusted',
      ],
      [
        'a misspelt input of this action (GitHub parser + action.yml)',
        "Invalid action input 'pagerduty-tokn'",
      ],
      ['its missing required input (GitHub parser + action.yml)', 'Missing required input `pagerduty-token`'],
      [
        'an unknown input of the reusable workflow (GitHub parser + its file)',
        'Invalid input, bogus is not defined in the referenced workflow',
      ],
      ['no top-level permissions (policy)', 'broken.yml:1:1: no top-level permissions'],
      ['an action pinned by tag (policy)', 'actions/checkout@v5: pin third-party actions'],
      ['a SHA without its version (policy)', 'say which version the SHA is in a comment'],
      ['${{ }} inside run: (policy)', 'broken.yml:8:14: no ${{ }} inside run:'],
      [
        'a misspelt input in an example named like a workflow',
        `examples/oncall-access.yml:${lineOf('examples/oncall-access.yml', 'revoke-stale: false')}:11: Invalid action input 'revoke-stal' [github-parser]`,
      ],
    ])('reports %s', (_, expected) => {
      expect(messages.some((message) => message.includes(expected))).toBe(true);
    });
  });
});

describe('checkRunScripts', () => {
  const workflow = [
    'on: push',
    'permissions: {}',
    'defaults:',
    '  run:',
    '    shell: sh',
    'jobs:',
    '  a:',
    '    runs-on: ubuntu-latest',
    '    steps:',
    '      - run: |',
    '          x=1',
    '          echo "${{ github.sha }}" $HOME',
    '      - run: cd $HOME',
    '        shell: bash',
    '      - shell: pwsh',
    '        run: cd $HOME',
    '',
  ].join('\n');

  it('hands every sh/bash script to shellcheck, ${{ }} replaced, and maps its lines and columns back', () => {
    const seen: Array<[string, string]> = [];
    const findings = checkRunScripts(workflow, 'w.yml', (script, shell) => {
      seen.push([script, shell]);
      // One finding each: line 2, column 3 of the block script; column 4 ($HOME) of the one-liner
      const [line, column] = script.includes('\n') ? [2, 3] : [1, 4];
      return [{ line, column, code: 2086, level: 'info', message: 'Double quote' }];
    });
    expect(seen).toEqual([
      [`x=1\necho "${'_'.repeat('${{ github.sha }}'.length)}" $HOME\n`, 'sh'],
      ['cd $HOME', 'bash'],
    ]);
    expect(findings.map(formatFinding)).toEqual([
      'w.yml:12:13: Double quote (SC2086, info) [shellcheck]',
      'w.yml:13:17: Double quote (SC2086, info) [shellcheck]',
    ]);
  });

  it.skipIf(!findShellcheck())('finds what the installed shellcheck finds', () => {
    const messages = checkRunScripts(workflow, 'w.yml', findShellcheck()!).map(formatFinding);
    expect(messages).toContain(
      'w.yml:11:11: x appears unused. Verify use (or export if used externally). (SC2034, warning) [shellcheck]',
    );
    expect(messages.some((m) => m.startsWith('w.yml:12:') && m.includes('SC2086'))).toBe(true);
    expect(messages.some((m) => m.startsWith('w.yml:13:') && m.includes('SC2164'))).toBe(true);
    expect(messages.some((m) => m.startsWith('w.yml:16:'))).toBe(false); // pwsh is not shell
  });

  it('is left out, with a note, when shellcheck is not there', async () => {
    const { notes } = await lintWorkflows(repoRoot, { shellcheck: null });
    expect(notes).toEqual([expect.stringContaining('shellcheck is not installed')]);
  });
});

describe('usesProblem', () => {
  it.each([
    ['./', ''],
    ['$/.github/actions/x', ''],
    ['docker://alpine:3.22', ''],
    ['acme/oncall-access@v1', ''],
    ['acme/oncall-access/.github/workflows/oncall-access.yml@v1', ''],
    ['actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8', 'v5.0.0'],
  ])('accepts %s', (uses, comment) => {
    expect(usesProblem(uses, comment)).toBeUndefined();
  });

  it.each([
    ['actions/checkout@v5', 'v5'],
    ['actions/checkout', ''],
    ['actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a', 'v5.0.0'], // 39 hex digits
    ['actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8', ''],
    ['acme/oncall-access-fork@v1', ''],
  ])('refuses %s', (uses, comment) => {
    expect(usesProblem(uses, comment)).toMatch(/pin|version/);
  });
});

describe('examples/*-rules.yml', () => {
  it("are every one read by the action's own rules parser without problems", async () => {
    const { targets } = await lintWorkflows(repoRoot, { shellcheck: null });
    const rulesFiles = targets.filter((target) => target.kind === 'rules').map((target) => target.file);
    expect(rulesFiles).toContain('examples/oncall-access-rules.yml');
    for (const file of rulesFiles) {
      expect(parseRules(await readFile(path.join(repoRoot, file), 'utf8'), file).problems, file).toEqual([]);
    }
  });

  it('oncall-access-rules.yml holds the rules the examples README describes', async () => {
    const text = await readFile(path.join(repoRoot, 'examples/oncall-access-rules.yml'), 'utf8');
    const { rules, problems } = parseRules(text, 'examples/oncall-access-rules.yml');
    expect(problems).toEqual([]);
    expect(rules.map((rule) => rule.name)).toEqual([
      'platform',
      'database',
      'payments',
      'incident-commanders',
      'database-incidents',
    ]);
    expect(rules.find((rule) => rule.name === 'database-incidents')).toMatchObject({
      schedules: [],
      escalationPolicies: [],
      resources: ['prod-postgres-write'],
      incidents: {
        services: ['PDBSVC1'],
        urgencies: ['high'],
        statuses: ['triggered', 'acknowledged'],
        windowMs: 2 * 3_600_000,
        requireOnCall: true,
      },
    });
    expect(rules.find((rule) => rule.name === 'payments')).toMatchObject({
      schedules: ['PPAY001'],
      escalationPolicies: ['PPAYEP1'],
      escalationLevels: [1, 2],
      resources: ['payments-db-replica', 'k8s-payments-prod'],
    });
  });
});

describe('.github/workflows/oncall-access.yml', () => {
  const TOKENS = ['pagerduty-token', 'sdm-admin-token', 'ledger-key'];

  it('mirrors action.yml: every input with its description and default, tokens as secrets, outputs', async () => {
    const action = parse(await readFile(path.join(repoRoot, 'action.yml'), 'utf8'));
    const workflow = parse(
      await readFile(path.join(repoRoot, '.github/workflows/oncall-access.yml'), 'utf8'),
    );
    const call = workflow.on.workflow_call;
    // github-token is the called job's own token; the rest are the action's inputs.
    for (const [name, input] of Object.entries<{ description: string; default?: string }>(action.inputs)) {
      if (name === 'github-token') continue;
      if (TOKENS.includes(name)) {
        expect(call.secrets[name]?.description, name).toBe(input.description);
        expect(call.inputs[name], name).toBeUndefined();
        continue;
      }
      expect(call.inputs[name]?.description, name).toBe(input.description);
      expect(
        call.inputs[name]?.default === undefined ? undefined : String(call.inputs[name].default),
        name,
      ).toBe(input.default);
      expect(workflow.jobs.grant.steps[1].with[name], name).toBe(`\${{ inputs.${name} }}`);
    }
    for (const name of TOKENS)
      expect(workflow.jobs.grant.steps[1].with[name]).toBe(`\${{ secrets.${name} }}`);
    expect(Object.keys(call.outputs)).toEqual(['granted', 'failed', 'stale', 'plan', 'message']);
    for (const name of Object.keys(call.outputs)) expect(action.outputs[name], name).toBeDefined();
  });
});

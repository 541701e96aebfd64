// Reads and validates the action's inputs into one typed object. Every problem names the input and the fix,
// and all problems are reported together so a user fixes their workflow in one pass.
import { parseRules, parseUserMap, type Rule } from './rules.js';
import { commandArgumentProblem, forInputProblem } from './text.js';
import { displayUrl, isAllowedUrl } from './urls.js';

export const DEFAULT_PAGERDUTY_API_URL = 'https://api.pagerduty.com';
// The vendor's "latest Linux CLI" address; it answers 307 to a versioned zip (see src/sdm-install.ts).
export const DEFAULT_SDM_DOWNLOAD_URL = 'https://app.strongdm.com/releases/cli/linux';
// The vendor's published SHA-256 for a version (body format unconfirmed: text holding one 64-hex value).
export const DEFAULT_SDM_CHECKSUM_URL = 'https://app.strongdm.com/sha';
export const MAX_LOOKAHEAD_MS = 90 * 24 * 60 * 60 * 1000; // PagerDuty computes on-calls 90 days ahead at most
export const MAX_CONCURRENCY = 16;
export const DIRECT_TARGETS = 'null';

/**
 * Every input's default, in one place: action.yml declares the same (the runner fills them in) and the README's
 * table shows them; inputs.test.ts fails when the three disagree. github-token's default, ${{ github.token }}, is
 * the runner's to fill in and has no counterpart here.
 */
export const INPUT_DEFAULTS: Readonly<Record<string, string>> = {
  'pagerduty-api-url': DEFAULT_PAGERDUTY_API_URL,
  lookahead: '24h',
  'lead-time': '0m',
  'grace-period': '0m',
  'max-grant-duration': '7d',
  'max-new-grants': '50',
  'sdm-version': 'latest',
  'sdm-download-url': DEFAULT_SDM_DOWNLOAD_URL,
  'sdm-checksum-url': DEFAULT_SDM_CHECKSUM_URL,
  'dry-run': 'false',
  'revoke-stale': 'false',
  concurrency: '4',
  'request-timeout': '30s',
  'sdm-timeout': '2m',
  'time-budget': '10m',
  'fail-on': 'error',
  state: 'github',
  'state-branch': 'oncall-access-state',
};

export type FailOn = 'error' | 'missing-user' | 'never';

export type LedgerLocation = { kind: 'github' } | { kind: 'file'; path: string } | { kind: 'none' };

export interface Inputs {
  pagerdutyToken: string;
  pagerdutyApiUrl: string;
  rules: Rule[]; // simple mode (schedule-ids + resources) is one rule named "default"
  simpleMode: boolean;
  userMap: Map<string, string>; // lower-cased PagerDuty email or user ID → strongDM email
  lookaheadMs: number;
  lookahead: string;
  leadMs: number;
  graceMs: number;
  maxGrantMs: number;
  maxNewGrants: number;
  sdmAdminToken: string;
  sdmVersion: string; // 'latest' or X.Y.Z
  sdmSha256: string; // '' or 64 lowercase hex
  sdmDownloadUrl: string;
  dryRun: boolean;
  revokeStale: boolean;
  concurrency: number;
  requestTimeoutMs: number;
  sdmTimeoutMs: number;
  timeBudgetMs: number; // the whole run: retries stop, and what was not attempted is reported, past this
  sdmChecksumUrl: string; // '' when disabled
  failOn: FailOn;
  state: LedgerLocation;
  stateBranch: string;
  githubToken: string;
}

export class InputError extends Error {
  constructor(readonly problems: string[]) {
    super(
      problems.length === 1
        ? `Invalid input: ${problems[0]}`
        : `Invalid inputs:\n${problems.map((p) => `- ${p}`).join('\n')}`,
    );
    this.name = 'InputError';
  }
}

/** Splits a list input on commas and newlines, trims, drops empties and repeats (first occurrence wins). */
export function parseList(value: string): string[] {
  const items = value
    .split(/[,\n\r]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return [...new Set(items)];
}

const DURATION_UNITS_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses durations such as `30s`, `30m`, `24h`, `7d`, `2w` or `1d12h` into milliseconds; undefined when malformed. */
export function parseDuration(value: string): number | undefined {
  const text = value.trim().toLowerCase();
  if (!/^(\d+\s*[smhdw]\s*)+$/.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(/(\d+)\s*([smhdw])/g)) {
    total += Number(match[1]) * (DURATION_UNITS_MS[match[2] as string] as number);
  }
  return total;
}

/** The largest whole unit: 90000 → "90s", 600000 → "10m". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of Object.entries(DURATION_UNITS_MS).reverse()) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Same spellings as core.getBooleanInput (YAML 1.2 core schema), but a typo becomes an input problem we can name. */
export function parseBoolean(value: string): boolean | undefined {
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  if (['false', 'False', 'FALSE'].includes(value)) return false;
  return undefined;
}

/** HTTPS everywhere; plain HTTP only to this machine (mirrors and tests), never a token over the network in clear. */
function urlProblem(name: string, value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${name}: the value is not a URL; use a full address such as https://…`;
  }
  if (isAllowedUrl(url)) return undefined;
  return `${name}: "${displayUrl(value)}" must use https:// (plain http is accepted only for localhost)`;
}

/** Reads inputs through `getInput` (core.getInput in the action, a map in tests). Tokens are not masked here. */
export function readInputs(
  getInput: (name: string) => string,
  readWorkspaceFile: (relativePath: string) => string = () => {
    throw new Error('no workspace');
  },
): Inputs {
  const problems: string[] = [];
  const get = (name: string): string => getInput(name).trim() || (INPUT_DEFAULTS[name] ?? '');
  const boolean = (name: string): boolean => {
    const text = get(name);
    const value = parseBoolean(text);
    if (value === undefined)
      problems.push(`${name}: "${forInputProblem(text)}" is not a boolean; use true or false`);
    return value ?? false;
  };
  const duration = (name: string, { min, max }: { min: number; max: number }): number => {
    const text = get(name);
    const ms = parseDuration(text);
    if (ms === undefined) {
      problems.push(
        `${name}: "${forInputProblem(text)}" is not a duration; use a number and a unit s, m, h, d or w (e.g. 30s, 24h, 7d)`,
      );
    } else if (ms < min) {
      problems.push(
        `${name} must be ${min === 0 ? 'zero or more' : min <= 1 ? 'longer than zero' : `at least ${formatDuration(min)}`}, e.g. ${INPUT_DEFAULTS[name]}`,
      );
    } else if (ms > max) {
      problems.push(
        max === MAX_LOOKAHEAD_MS
          ? `${name}: "${forInputProblem(text)}" is over 90d; PagerDuty computes on-calls at most 90 days ahead`
          : `${name}: "${forInputProblem(text)}" is over the limit of ${formatDuration(max)}`,
      );
    }
    return ms ?? 0;
  };
  const wholeNumber = (name: string, min: number, max: number): number => {
    const text = get(name);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      problems.push(`${name}: "${forInputProblem(text)}" must be a whole number from ${min} to ${max}`);
    }
    return value;
  };

  const pagerdutyToken = get('pagerduty-token');
  if (!pagerdutyToken) {
    problems.push(
      'pagerduty-token is required: pass a PagerDuty REST API key, e.g. ${{ secrets.PAGERDUTY_TOKEN }}',
    );
  }
  const pagerdutyApiUrl = get('pagerduty-api-url').replace(/\/+$/, '');
  const pagerdutyUrlProblem = urlProblem('pagerduty-api-url', pagerdutyApiUrl);
  if (pagerdutyUrlProblem) problems.push(pagerdutyUrlProblem);

  const { rules, simpleMode } = readRules(getInput, readWorkspaceFile, problems);

  const userMapResult = parseUserMap(getInput('user-map'));
  problems.push(...userMapResult.problems);

  const lookahead = get('lookahead');
  const lookaheadMs = duration('lookahead', { min: 1, max: MAX_LOOKAHEAD_MS });
  const leadMs = duration('lead-time', { min: 0, max: MAX_LOOKAHEAD_MS });
  const graceMs = duration('grace-period', { min: 0, max: MAX_LOOKAHEAD_MS });
  const maxGrantMs = duration('max-grant-duration', { min: 1, max: MAX_LOOKAHEAD_MS });
  const maxNewGrants = wholeNumber('max-new-grants', 0, 100_000);

  const dryRun = boolean('dry-run');
  const revokeStale = boolean('revoke-stale');
  const sdmAdminToken = get('sdm-admin-token');
  if (!sdmAdminToken && !dryRun && parseBoolean(get('dry-run')) !== undefined) {
    problems.push(
      'sdm-admin-token is required unless dry-run is true: pass a strongDM admin token, e.g. ${{ secrets.SDM_ADMIN_TOKEN }}',
    );
  }

  const sdmVersion = get('sdm-version');
  if (sdmVersion !== 'latest' && !/^\d+\.\d+\.\d+$/.test(sdmVersion)) {
    problems.push(
      `sdm-version: "${forInputProblem(sdmVersion)}" must be "latest" or an exact version such as 46.0.0`,
    );
  }
  const sdmSha256 = get('sdm-sha256').toLowerCase();
  if (sdmSha256 && !/^[0-9a-f]{64}$/.test(sdmSha256)) {
    problems.push(
      'sdm-sha256 must be the 64 hexadecimal characters of the zip\'s SHA-256 (e.g. from "sha256sum")',
    );
  }
  const sdmDownloadUrl = get('sdm-download-url');
  const downloadUrlProblem = urlProblem('sdm-download-url', sdmDownloadUrl);
  if (downloadUrlProblem) problems.push(downloadUrlProblem);

  const concurrency = wholeNumber('concurrency', 1, MAX_CONCURRENCY);
  const requestTimeoutMs = duration('request-timeout', { min: 1_000, max: 10 * 60_000 });
  const sdmTimeoutMs = duration('sdm-timeout', { min: 1_000, max: 60 * 60_000 });
  const timeBudgetMs = duration('time-budget', { min: 10_000, max: 6 * 60 * 60_000 });
  const sdmChecksumUrl = get('sdm-checksum-url');
  if (sdmChecksumUrl !== 'none') {
    const checksumUrlProblem = urlProblem('sdm-checksum-url', sdmChecksumUrl);
    if (checksumUrlProblem) problems.push(`${checksumUrlProblem}, or none`);
  }
  const failOn = get('fail-on');
  if (failOn !== 'error' && failOn !== 'missing-user' && failOn !== 'never') {
    problems.push(`fail-on: "${forInputProblem(failOn)}" must be one of error, missing-user, never`);
  }

  const state = readLedgerLocation(get('state'), problems);
  const stateBranch = get('state-branch');
  if (
    !/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(stateBranch) ||
    stateBranch.includes('..') ||
    stateBranch.endsWith('/')
  ) {
    problems.push(
      `state-branch: "${forInputProblem(stateBranch)}" is not a usable branch name; use e.g. oncall-access-state`,
    );
  }
  const githubToken = get('github-token');
  if (state.kind === 'github' && !githubToken) {
    problems.push(
      'github-token is required with state: github; the default ${{ github.token }} works with contents: write',
    );
  }

  if (problems.length > 0) throw new InputError(problems);
  return {
    pagerdutyToken,
    pagerdutyApiUrl,
    rules,
    simpleMode,
    userMap: userMapResult.userMap,
    lookahead,
    lookaheadMs,
    leadMs,
    graceMs,
    maxGrantMs,
    maxNewGrants,
    sdmAdminToken,
    sdmVersion,
    sdmSha256,
    sdmDownloadUrl,
    dryRun,
    revokeStale,
    concurrency,
    requestTimeoutMs,
    sdmTimeoutMs,
    timeBudgetMs,
    sdmChecksumUrl: sdmChecksumUrl === 'none' ? '' : sdmChecksumUrl,
    failOn: failOn as FailOn,
    state,
    stateBranch,
    githubToken,
  };
}

/** `rules` (inline YAML or a workspace path to a YAML file), or simple mode: schedule-ids + resources. */
function readRules(
  getInput: (name: string) => string,
  readWorkspaceFile: (relativePath: string) => string,
  problems: string[],
): { rules: Rule[]; simpleMode: boolean } {
  const rulesText = getInput('rules').trim();
  const scheduleIds = parseList(getInput('schedule-ids'));
  const resources = parseList(getInput('resources'));
  const levelsText = getInput('escalation-levels').trim();

  if (rulesText) {
    if (scheduleIds.length > 0 || resources.length > 0 || levelsText) {
      problems.push(
        'rules cannot be combined with schedule-ids, resources or escalation-levels: put those into the rules, or drop rules',
      );
    }
    let yamlText = rulesText;
    let where = 'inline';
    if (!rulesText.includes('\n') && /\.ya?ml$/i.test(rulesText)) {
      where = rulesText;
      try {
        yamlText = readWorkspaceFile(rulesText);
      } catch (error) {
        problems.push(
          `rules: cannot read "${forInputProblem(rulesText)}" in the workspace (${errorMessage(error)}); check out the repository first`,
        );
        return { rules: [], simpleMode: false };
      }
    }
    const parsed = parseRules(yamlText, where);
    problems.push(...parsed.problems);
    for (const rule of parsed.rules) checkResources(`rules: rule "${rule.name}"`, rule.resources, problems);
    return { rules: parsed.rules, simpleMode: false };
  }

  if (scheduleIds.length === 0) {
    problems.push(
      'schedule-ids is required (or rules): list PagerDuty schedule IDs (e.g. PABC123), separated by commas or lines',
    );
  }
  for (const id of scheduleIds) {
    // `null` is PagerDuty's own value for people an escalation policy targets directly (no schedule).
    if (id !== DIRECT_TARGETS && !/^[A-Za-z0-9]{2,32}$/.test(id)) {
      problems.push(
        `schedule-ids: "${forInputProblem(id)}" is not a PagerDuty schedule ID; IDs are letters and digits such as PABC123 (find it in the schedule's URL)`,
      );
    }
  }
  if (resources.length === 0) {
    problems.push(
      'resources is required (or rules): list strongDM resource names (e.g. prod-postgres), separated by commas or lines',
    );
  }
  checkResources('resources', resources, problems);
  const escalationLevels = parseList(levelsText).map(Number);
  if (escalationLevels.some((level) => !Number.isInteger(level) || level < 1)) {
    problems.push(
      `escalation-levels: "${forInputProblem(levelsText)}" must be whole numbers from 1, e.g. 1, 2`,
    );
  }
  return {
    rules: [{ name: 'default', schedules: scheduleIds, escalationPolicies: [], escalationLevels, resources }],
    simpleMode: true,
  };
}

function checkResources(label: string, resources: string[], problems: string[]): void {
  for (const resource of resources) {
    const reason = commandArgumentProblem(resource);
    if (reason)
      problems.push(
        `${label}: resource "${forInputProblem(resource)}" ${reason}; use the name strongDM shows`,
      );
  }
}

function readLedgerLocation(text: string, problems: string[]): LedgerLocation {
  if (text === 'github' || text === 'none') return { kind: text };
  if (text.startsWith('file:') && text.length > 'file:'.length)
    return { kind: 'file', path: text.slice('file:'.length).trim() };
  problems.push(
    `state: "${forInputProblem(text)}" must be github, none, or file:<path> (e.g. file:.oncall-access/ledger.json)`,
  );
  return { kind: 'none' };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

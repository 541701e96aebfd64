// Reads and validates the action's inputs into one typed object. Every problem names the input and the fix,
// and all problems are reported together so a user fixes their workflow in one pass.
import { formatDuration, parseDuration } from './durations.js';
import { parseUserMap, readRules, type Rule } from './rules.js';
import { forInputProblem } from './text.js';
import { displayUrl, isAllowedUrl } from './urls.js';

export const DEFAULT_PAGERDUTY_API_URL = 'https://api.pagerduty.com';
// The vendor's "latest Linux CLI" address; it answers 307 to a versioned zip (see src/sdm-install.ts).
export const DEFAULT_SDM_DOWNLOAD_URL = 'https://app.strongdm.com/releases/cli/linux';
// The vendor's published SHA-256 for a version (body format unconfirmed: text holding one 64-hex value).
export const DEFAULT_SDM_CHECKSUM_URL = 'https://app.strongdm.com/sha';
export const MAX_LOOKAHEAD_MS = 90 * 24 * 60 * 60 * 1000; // PagerDuty computes on-calls 90 days ahead at most
export const MAX_CONCURRENCY = 16;

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
  ledgerKey: string; // '' : the ledger's entries are signed with a key derived from sdmAdminToken
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

/** Same spellings as core.getBooleanInput (YAML 1.2 core schema), but a typo becomes an input problem we can name. */
export function parseBoolean(value: string): boolean | undefined {
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  if (['false', 'False', 'FALSE'].includes(value)) return false;
  return undefined;
}

/** Reads one input at a time, with its default, and notes every problem instead of stopping at the first. */
class InputReader {
  readonly problems: string[] = [];
  constructor(readonly getInput: (name: string) => string) {}

  text(name: string): string {
    return this.getInput(name).trim() || (INPUT_DEFAULTS[name] ?? '');
  }

  boolean(name: string): boolean {
    const text = this.text(name);
    const value = parseBoolean(text);
    if (value === undefined)
      this.problems.push(`${name}: "${forInputProblem(text)}" is not a boolean; use true or false`);
    return value ?? false;
  }

  duration(name: string, { min, max }: { min: number; max: number }): number {
    const text = this.text(name);
    const ms = parseDuration(text);
    if (ms === undefined) {
      this.problems.push(
        `${name}: "${forInputProblem(text)}" is not a duration; use a number and a unit s, m, h, d or w (e.g. 30s, 24h, 7d)`,
      );
    } else if (ms < min) {
      this.problems.push(
        `${name} must be ${min === 0 ? 'zero or more' : min <= 1 ? 'longer than zero' : `at least ${formatDuration(min)}`}, e.g. ${INPUT_DEFAULTS[name]}`,
      );
    } else if (ms > max) {
      this.problems.push(
        max === MAX_LOOKAHEAD_MS
          ? `${name}: "${forInputProblem(text)}" is over 90d; PagerDuty computes on-calls at most 90 days ahead`
          : `${name}: "${forInputProblem(text)}" is over the limit of ${formatDuration(max)}`,
      );
    }
    return ms ?? 0;
  }

  wholeNumber(name: string, min: number, max: number): number {
    const text = this.text(name);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      this.problems.push(`${name}: "${forInputProblem(text)}" must be a whole number from ${min} to ${max}`);
    }
    return value;
  }

  /** HTTPS everywhere; plain HTTP only to this machine (mirrors and tests), never a token over the network in clear. */
  url(name: string, value: string, orElse = ''): void {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      this.problems.push(`${name}: the value is not a URL; use a full address such as https://…${orElse}`);
      return;
    }
    if (!isAllowedUrl(url)) {
      this.problems.push(
        `${name}: "${displayUrl(value)}" must use https:// (plain http is accepted only for localhost)${orElse}`,
      );
    }
  }
}

/**
 * Reads inputs through `getInput` (core.getInput in the action, a map in tests). Tokens are not masked here.
 * Problems are listed in the order of the README's table, all at once.
 */
export function readInputs(
  getInput: (name: string) => string,
  readWorkspaceFile: (relativePath: string) => string = () => {
    throw new Error('no workspace');
  },
): Inputs {
  const input = new InputReader(getInput);
  const pagerduty = readPagerDutyInputs(input);
  const { rules, simpleMode } = readRules(getInput, readWorkspaceFile, input.problems);
  const userMap = parseUserMap(getInput('user-map'));
  input.problems.push(...userMap.problems);
  const windows = readWindowInputs(input);
  const sdm = readSdmInputs(input);
  const failOn = readFailOn(input);
  const ledger = readLedgerInputs(input);
  if (input.problems.length > 0) throw new InputError(input.problems);
  return {
    ...pagerduty,
    rules,
    simpleMode,
    userMap: userMap.userMap,
    ...windows,
    ...sdm,
    failOn,
    ...ledger,
  };
}

function readFailOn(input: InputReader): FailOn {
  const failOn = input.text('fail-on');
  if (failOn === 'error' || failOn === 'missing-user' || failOn === 'never') return failOn;
  input.problems.push(`fail-on: "${forInputProblem(failOn)}" must be one of error, missing-user, never`);
  return 'error';
}

function readPagerDutyInputs(input: InputReader): Pick<Inputs, 'pagerdutyToken' | 'pagerdutyApiUrl'> {
  const pagerdutyToken = input.text('pagerduty-token');
  if (!pagerdutyToken) {
    input.problems.push(
      'pagerduty-token is required: pass a PagerDuty REST API key, e.g. ${{ secrets.PAGERDUTY_TOKEN }}',
    );
  }
  const pagerdutyApiUrl = input.text('pagerduty-api-url').replace(/\/+$/, '');
  input.url('pagerduty-api-url', pagerdutyApiUrl);
  return { pagerdutyToken, pagerdutyApiUrl };
}

/** How far ahead to look, how each window is widened and bounded, and how big a plan may be. */
function readWindowInputs(
  input: InputReader,
): Pick<Inputs, 'lookahead' | 'lookaheadMs' | 'leadMs' | 'graceMs' | 'maxGrantMs' | 'maxNewGrants'> {
  return {
    lookahead: input.text('lookahead'),
    lookaheadMs: input.duration('lookahead', { min: 1, max: MAX_LOOKAHEAD_MS }),
    leadMs: input.duration('lead-time', { min: 0, max: MAX_LOOKAHEAD_MS }),
    graceMs: input.duration('grace-period', { min: 0, max: MAX_LOOKAHEAD_MS }),
    maxGrantMs: input.duration('max-grant-duration', { min: 1, max: MAX_LOOKAHEAD_MS }),
    maxNewGrants: input.wholeNumber('max-new-grants', 0, 100_000),
  };
}

type SdmInputs = Pick<
  Inputs,
  | 'dryRun'
  | 'revokeStale'
  | 'sdmAdminToken'
  | 'sdmVersion'
  | 'sdmSha256'
  | 'sdmDownloadUrl'
  | 'concurrency'
  | 'requestTimeoutMs'
  | 'sdmTimeoutMs'
  | 'timeBudgetMs'
  | 'sdmChecksumUrl'
>;

/** What strongDM may be asked to do, and how sdm is fetched, checked and run. */
function readSdmInputs(input: InputReader): SdmInputs {
  const dryRun = input.boolean('dry-run');
  const revokeStale = input.boolean('revoke-stale');
  const sdmAdminToken = input.text('sdm-admin-token');
  if (!sdmAdminToken && !dryRun && parseBoolean(input.text('dry-run')) !== undefined) {
    input.problems.push(
      'sdm-admin-token is required unless dry-run is true: pass a strongDM admin token, e.g. ${{ secrets.SDM_ADMIN_TOKEN }}',
    );
  }
  const sdmVersion = input.text('sdm-version');
  if (sdmVersion !== 'latest' && !/^\d+\.\d+\.\d+$/.test(sdmVersion)) {
    input.problems.push(
      `sdm-version: "${forInputProblem(sdmVersion)}" must be "latest" or an exact version such as 46.0.0`,
    );
  }
  const sdmSha256 = input.text('sdm-sha256').toLowerCase();
  if (sdmSha256 && !/^[0-9a-f]{64}$/.test(sdmSha256)) {
    input.problems.push(
      'sdm-sha256 must be the 64 hexadecimal characters of the zip\'s SHA-256 (e.g. from "sha256sum")',
    );
  }
  const sdmDownloadUrl = input.text('sdm-download-url');
  input.url('sdm-download-url', sdmDownloadUrl);
  const concurrency = input.wholeNumber('concurrency', 1, MAX_CONCURRENCY);
  const requestTimeoutMs = input.duration('request-timeout', { min: 1_000, max: 10 * 60_000 });
  const sdmTimeoutMs = input.duration('sdm-timeout', { min: 1_000, max: 60 * 60_000 });
  const timeBudgetMs = input.duration('time-budget', { min: 10_000, max: 6 * 60 * 60_000 });
  const sdmChecksumUrl = input.text('sdm-checksum-url');
  if (sdmChecksumUrl !== 'none') input.url('sdm-checksum-url', sdmChecksumUrl, ', or none');
  return {
    dryRun,
    revokeStale,
    sdmAdminToken,
    sdmVersion,
    sdmSha256,
    sdmDownloadUrl,
    concurrency,
    requestTimeoutMs,
    sdmTimeoutMs,
    timeBudgetMs,
    sdmChecksumUrl: sdmChecksumUrl === 'none' ? '' : sdmChecksumUrl,
  };
}

function readLedgerInputs(
  input: InputReader,
): Pick<Inputs, 'state' | 'stateBranch' | 'githubToken' | 'ledgerKey'> {
  const state = readLedgerLocation(input.text('state'), input.problems);
  const stateBranch = input.text('state-branch');
  if (
    !/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(stateBranch) ||
    stateBranch.includes('..') ||
    stateBranch.endsWith('/')
  ) {
    input.problems.push(
      `state-branch: "${forInputProblem(stateBranch)}" is not a usable branch name; use e.g. oncall-access-state`,
    );
  }
  const githubToken = input.text('github-token');
  if (state.kind === 'github' && !githubToken) {
    input.problems.push(
      'github-token is required with state: github; the default ${{ github.token }} works with contents: write',
    );
  }
  return { state, stateBranch, githubToken, ledgerKey: input.getInput('ledger-key') };
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

// Reads and validates the action's inputs into one typed object. Every problem names the input and the fix,
// and all problems are reported together so a user fixes their workflow in one pass.
import { displayUrl, isAllowedUrl } from './urls.js';

export const DEFAULT_PAGERDUTY_API_URL = 'https://api.pagerduty.com';
// The vendor's "latest Linux CLI" address; it answers 307 to a versioned zip (see src/sdm-install.ts).
export const DEFAULT_SDM_DOWNLOAD_URL = 'https://app.strongdm.com/releases/cli/linux';
export const MAX_LOOKAHEAD_MS = 90 * 24 * 60 * 60 * 1000; // PagerDuty computes on-calls 90 days ahead at most
export const MAX_CONCURRENCY = 16;
export const DIRECT_TARGETS = 'null';

export type FailOn = 'error' | 'missing-user' | 'never';

export interface Inputs {
  pagerdutyToken: string;
  pagerdutyApiUrl: string;
  scheduleIds: string[];
  resources: string[];
  lookaheadMs: number;
  lookahead: string;
  sdmAdminToken: string;
  sdmVersion: string; // 'latest' or X.Y.Z
  sdmSha256: string; // '' or 64 lowercase hex
  sdmDownloadUrl: string;
  dryRun: boolean;
  concurrency: number;
  failOn: FailOn;
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
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses durations such as `30m`, `24h`, `7d`, `2w` or `1d12h` into milliseconds; undefined when malformed. */
export function parseDuration(value: string): number | undefined {
  const text = value.trim().toLowerCase();
  if (!/^(\d+\s*[mhdw]\s*)+$/.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(/(\d+)\s*([mhdw])/g)) {
    total += Number(match[1]) * (DURATION_UNITS_MS[match[2] as string] as number);
  }
  return total;
}

/** Same spellings as core.getBooleanInput (YAML 1.2 core schema), but a typo becomes an input problem we can name. */
export function parseBoolean(value: string): boolean | undefined {
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  if (['false', 'False', 'FALSE'].includes(value)) return false;
  return undefined;
}

const CONTROL_OR_SPACE = /[\s\p{Cc}\p{Cf}]/u;

/**
 * A value that will be an argument of an `sdm` command: it must not be read as a flag and must not carry
 * whitespace or control characters. Returns the reason it is unsafe, or undefined when it is fine.
 */
export function unsafeArgumentReason(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (value.startsWith('-')) return 'starts with "-" (it would be read as a flag)';
  if (CONTROL_OR_SPACE.test(value)) return 'contains whitespace or control characters';
  if (value.length > 255) return 'is longer than 255 characters';
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
export function readInputs(getInput: (name: string) => string): Inputs {
  const problems: string[] = [];
  const get = (name: string, fallback = ''): string => getInput(name).trim() || fallback;

  const pagerdutyToken = get('pagerduty-token');
  if (!pagerdutyToken) {
    problems.push(
      'pagerduty-token is required: pass a PagerDuty REST API key, e.g. ${{ secrets.PAGERDUTY_TOKEN }}',
    );
  }

  const pagerdutyApiUrl = get('pagerduty-api-url', DEFAULT_PAGERDUTY_API_URL).replace(/\/+$/, '');
  const pagerdutyUrlProblem = urlProblem('pagerduty-api-url', pagerdutyApiUrl);
  if (pagerdutyUrlProblem) problems.push(pagerdutyUrlProblem);

  const scheduleIds = parseList(getInput('schedule-ids'));
  if (scheduleIds.length === 0) {
    problems.push(
      'schedule-ids is required: list PagerDuty schedule IDs (e.g. PABC123), separated by commas or lines',
    );
  }
  for (const id of scheduleIds) {
    // `null` is PagerDuty's own value for people an escalation policy targets directly (no schedule).
    if (id !== DIRECT_TARGETS && !/^[A-Za-z0-9]{2,32}$/.test(id)) {
      problems.push(
        `schedule-ids: "${printable(id)}" is not a PagerDuty schedule ID; IDs are letters and digits such as PABC123 (find it in the schedule's URL)`,
      );
    }
  }

  const resources = parseList(getInput('resources'));
  if (resources.length === 0) {
    problems.push(
      'resources is required: list strongDM resource names (e.g. prod-postgres), separated by commas or lines',
    );
  }
  for (const resource of resources) {
    const reason = unsafeArgumentReason(resource);
    if (reason)
      problems.push(
        `resources: "${printable(resource)}" ${reason}; use the resource's name as strongDM shows it`,
      );
  }

  const lookahead = get('lookahead', '24h');
  const lookaheadMs = parseDuration(lookahead);
  if (lookaheadMs === undefined) {
    problems.push(
      `lookahead: "${printable(lookahead)}" is not a duration; use a number and a unit m, h, d or w (e.g. 24h, 7d)`,
    );
  } else if (lookaheadMs <= 0) {
    problems.push('lookahead must be longer than zero, e.g. 24h');
  } else if (lookaheadMs > MAX_LOOKAHEAD_MS) {
    problems.push(`lookahead: "${lookahead}" is over 90d; PagerDuty computes on-calls at most 90 days ahead`);
  }

  const dryRunText = get('dry-run', 'false');
  const dryRun = parseBoolean(dryRunText);
  if (dryRun === undefined)
    problems.push(`dry-run: "${printable(dryRunText)}" is not a boolean; use true or false`);

  const sdmAdminToken = get('sdm-admin-token');
  if (!sdmAdminToken && dryRun === false) {
    problems.push(
      'sdm-admin-token is required unless dry-run is true: pass a strongDM admin token, e.g. ${{ secrets.SDM_ADMIN_TOKEN }}',
    );
  }

  const sdmVersion = get('sdm-version', 'latest');
  if (sdmVersion !== 'latest' && !/^\d+\.\d+\.\d+$/.test(sdmVersion)) {
    problems.push(
      `sdm-version: "${printable(sdmVersion)}" must be "latest" or an exact version such as 46.0.0`,
    );
  }

  const sdmSha256 = get('sdm-sha256').toLowerCase();
  if (sdmSha256 && !/^[0-9a-f]{64}$/.test(sdmSha256)) {
    problems.push(
      'sdm-sha256 must be the 64 hexadecimal characters of the zip\'s SHA-256 (e.g. from "sha256sum")',
    );
  }

  const sdmDownloadUrl = get('sdm-download-url', DEFAULT_SDM_DOWNLOAD_URL);
  const downloadUrlProblem = urlProblem('sdm-download-url', sdmDownloadUrl);
  if (downloadUrlProblem) problems.push(downloadUrlProblem);

  const concurrencyText = get('concurrency', '4');
  const concurrency = Number(concurrencyText);
  if (!/^\d+$/.test(concurrencyText) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    problems.push(
      `concurrency: "${printable(concurrencyText)}" must be a whole number from 1 to ${MAX_CONCURRENCY}`,
    );
  }

  const failOn = get('fail-on', 'error');
  if (failOn !== 'error' && failOn !== 'missing-user' && failOn !== 'never') {
    problems.push(`fail-on: "${printable(failOn)}" must be one of error, missing-user, never`);
  }

  if (problems.length > 0) throw new InputError(problems);
  return {
    pagerdutyToken,
    pagerdutyApiUrl,
    scheduleIds,
    resources,
    lookahead,
    lookaheadMs: lookaheadMs as number,
    sdmAdminToken,
    sdmVersion,
    sdmSha256,
    sdmDownloadUrl,
    dryRun: dryRun as boolean,
    concurrency,
    failOn: failOn as FailOn,
  };
}

/** Makes a user-supplied value safe to quote in one line of an error message. */
function printable(value: string): string {
  const flat = value.replace(/[\p{Cc}\p{Cf}]/gu, '?');
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

// Finds the sdm CLI in the runner's tool cache, or downloads, verifies and caches it (unzipping: sdm-zip.ts).
// Vendor facts (docs/strongdm-cli.md): the latest-Linux address answers 307 to a zip whose file name
// carries the version (sdmcli_46.0.0_linux_amd64.zip); the version-specific "upgrade" endpoint is UNCONFIRMED and is
// used only here, in upgradeUrl().
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import * as core from '@actions/core';
import * as tc from '@actions/tool-cache';
import { request } from 'undici';
import { DEFAULT_SDM_DOWNLOAD_URL } from './inputs.js';
import { extractSdm, sha256File, SdmInstallError, writeHashed } from './sdm-zip.js';
import { Deadline, retry } from './retry.js';
import { forErrorDetail } from './text.js';
import { displayUrl, isAllowedRedirect, isAllowedUrl } from './urls.js';

const TOOL_NAME = 'sdm';

export interface SdmInstallOptions {
  version: string; // 'latest' or X.Y.Z
  downloadUrl: string;
  sha256: string; // '' when not pinned
  /** The vendor's checksum endpoint; '' when the user opted out (sdm-checksum-url: none): then an unverified zip is used. */
  checksumUrl: string;
  tempDir: string;
  timeoutMs?: number;
  deadline?: Deadline;
}

export interface SdmInstallation {
  binary: string;
  version: string;
  /**
   * How the zip was verified: pinned sdm-sha256, strongDM's published checksum, or (only with sdm-checksum-url:
   * none) trusted from the tool cache or not at all.
   */
  verifiedBy: 'sdm-sha256' | 'vendor checksum' | 'tool cache' | 'unverified';
}

const MAX_REDIRECTS = 5;
const CACHED_ZIP = 'sdm.zip'; // kept beside the binary so every cache hit is verified again

/** The version in a vendor zip URL, e.g. …/sdmcli_46.0.0_linux_amd64.zip → 46.0.0. */
export function versionFromUrl(url: string): string | undefined {
  const fileName = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  return /^sdmcli_(\d+\.\d+\.\d+)_/.exec(fileName)?.[1];
}

/**
 * For an exact version from the vendor's site: its "upgrade" endpoint, which answers JSON whose `url` is the zip.
 * UNCONFIRMED (sdm-cli.md); a mirror given in sdm-download-url is used as it is instead.
 */
export function upgradeUrl(downloadUrl: string, version: string): string | undefined {
  const url = new URL(downloadUrl);
  if (!url.pathname.endsWith('/releases/cli/linux')) return undefined;
  const query = new URLSearchParams({ os: 'linux', arch: 'amd64', software: 'sdm-cli', version });
  return `${url.origin}${url.pathname.replace(/\/cli\/linux$/, '/upgrade')}?${query.toString()}`;
}

/** The published SHA-256 of a version, or why there is none; asked once per version and run. */
type Published = (version: string) => Promise<{ sha256?: string; why: string }>;

export async function installSdm(options: SdmInstallOptions): Promise<SdmInstallation> {
  checkRunner(options.downloadUrl);
  const asked = new Map<string, ReturnType<Published>>();
  const published: Published = (version) => {
    let answer = asked.get(version);
    if (!answer) asked.set(version, (answer = vendorSha256(version, options)));
    return answer;
  };
  const exact = options.version === 'latest' ? undefined : options.version;
  if (exact) {
    const cached = await findCached(exact, options, published);
    if (cached) return cached;
  }
  let url = options.downloadUrl;
  if (exact) {
    const upgrade = upgradeUrl(options.downloadUrl, exact);
    if (upgrade) url = await zipUrlFromUpgrade(upgrade, options);
  }

  // Follow redirects ourselves: the version is known from the final file name before the zip is requested,
  // so a cached version is reused without downloading anything.
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const urlVersion = versionFromUrl(url);
    if (exact && urlVersion && urlVersion !== exact) {
      throw new SdmInstallError(
        `sdm-download-url leads to sdm ${urlVersion} (${displayUrl(url)}), not sdm-version ${exact}; make them agree`,
      );
    }
    if (urlVersion) {
      const cached = await findCached(urlVersion, options, published);
      if (cached) return cached;
    }
    const response = await get(url, options);
    if (response.statusCode >= 300 && response.statusCode < 400) {
      url = await redirectTarget(response, url);
      continue;
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new SdmInstallError(
        `downloading sdm from ${displayUrl(url)} failed with HTTP ${response.statusCode}` +
          (response.statusCode >= 500
            ? ' after retries; the download site may be down, run again later'
            : '; check sdm-download-url and sdm-version'),
      );
    }
    const version = urlVersion ?? exact;
    if (!version) {
      await response.body.dump();
      throw new SdmInstallError(
        `cannot tell the sdm version from ${displayUrl(url)}; set sdm-version to the version this address serves`,
      );
    }
    return await saveAndCache(response, url, version, options, published);
  }
  throw new SdmInstallError(
    `the sdm download at ${displayUrl(options.downloadUrl)} redirected more than ${MAX_REDIRECTS} times`,
  );
}

/** sdm runs on Linux; the vendor's default address serves the x64 build only. */
function checkRunner(downloadUrl: string): void {
  if (process.platform !== 'linux') {
    throw new SdmInstallError(
      `this action runs sdm on Linux runners only; this runner is ${process.platform}`,
    );
  }
  if (process.arch !== 'x64' && downloadUrl === DEFAULT_SDM_DOWNLOAD_URL) {
    throw new SdmInstallError(
      `the default sdm-download-url serves the Linux x64 build; on this ${process.arch} runner set sdm-download-url to the matching build`,
    );
  }
}

/**
 * Where a redirect leads. The binary will hold the admin token: https never hands it over to plain http (not even
 * to loopback); plain http is followed only from a plain-http loopback address (a local mirror or a test).
 */
async function redirectTarget(response: Response, url: string): Promise<string> {
  await response.body.dump();
  const location = response.headers.location;
  if (typeof location !== 'string') {
    throw new SdmInstallError(`the sdm download at ${displayUrl(url)} redirected without a Location`);
  }
  const target = new URL(location, url).toString();
  refuseDowngrade(url, target, 'the sdm download redirected');
  return target;
}

/** Throws unless `isAllowedRedirect` lets `from` lead to `to`. */
function refuseDowngrade(from: string, to: string, what: string): void {
  if (isAllowedRedirect(new URL(from), new URL(to))) return;
  throw new SdmInstallError(
    isAllowedUrl(new URL(to))
      ? `${what} from https to plain http (${displayUrl(to)}); refusing it`
      : `${what} to ${displayUrl(to)}, which is not https; refusing it`,
  );
}

/**
 * The tool cache can be written by any earlier step of the job, so a cache hit is verified again: only a binary
 * unzipped afresh from a cached zip that matches sdm-sha256, or else the SHA-256 strongDM publishes, is run. A
 * cache entry that cannot be verified is ignored. Only with sdm-checksum-url: none (and no pin) is it trusted.
 */
async function findCached(
  version: string,
  options: SdmInstallOptions,
  published: Published,
): Promise<SdmInstallation | undefined> {
  const dir = tc.find(TOOL_NAME, version);
  if (!dir) return undefined;
  if (!options.sha256 && !options.checksumUrl) {
    core.info(
      `sdm ${version} found in the tool cache; not verified again (sdm-checksum-url is none and sdm-sha256 is not set)`,
    );
    return { binary: path.join(dir, 'sdm'), version, verifiedBy: 'tool cache' };
  }
  const vendor = options.sha256 ? undefined : await published(version);
  const expected = options.sha256 || vendor?.sha256;
  const against = options.sha256 ? 'sdm-sha256' : 'the SHA-256 strongDM publishes';
  if (!expected) {
    core.info(
      `sdm ${version} is in the tool cache, but cannot be verified (sdm-checksum-url ${vendor?.why}); not using it`,
    );
    return undefined;
  }
  const zipPath = path.join(dir, CACHED_ZIP);
  const sha256 = await sha256File(zipPath).catch(() => undefined);
  if (sha256 !== expected) {
    core.warning(`The cached sdm ${version} does not match ${against}; downloading it again.`);
    return undefined;
  }
  const workDir = await mkdtemp(path.join(options.tempDir, 'sdm-'));
  try {
    const binary = await extractSdm(zipPath, path.join(workDir, 'unzipped'), version);
    core.info(`sdm ${version} found in the tool cache; its zip matches ${against}`);
    return { binary, version, verifiedBy: options.sha256 ? 'sdm-sha256' : 'vendor checksum' };
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

type Response = Awaited<ReturnType<typeof request>>;
const MAX_ATTEMPTS = 4;

/** GET that retries network errors and 408/429/5xx answers with backoff, within the run's time budget. */
async function get(url: string, options: SdmInstallOptions): Promise<Response> {
  const deadline = options.deadline ?? new Deadline(10 * 60_000);
  const timeoutMs = options.timeoutMs ?? 120_000;
  return retry<Response>(
    async () => {
      try {
        const response = await request(url, {
          method: 'GET',
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(Math.max(1, deadline.remainingMs())), // nothing outlives the run's budget
        });
        const status = response.statusCode;
        if (!(status === 408 || status === 429 || status >= 500)) return { done: response };
        return { again: `answered HTTP ${status}`, last: response };
      } catch (error) {
        return { again: forErrorDetail(error instanceof Error ? error.message : String(error)) };
      }
    },
    {
      attempts: MAX_ATTEMPTS,
      deadline,
      onRetry: async (failure, waitMs, unused) => {
        await unused?.body.dump();
        core.info(
          `${displayUrl(url)}${unused ? ' ' : ': '}${failure}; trying again in ${Math.round(waitMs / 1000)} s`,
        );
      },
      // The last answer, even an error status, is the caller's to explain; no answer at all is explained here.
      giveUp: (failure, _why, last) => {
        if (last) return last;
        throw new SdmInstallError(`could not reach ${displayUrl(url)} to download sdm (${failure})`);
      },
    },
  );
}

async function zipUrlFromUpgrade(upgrade: string, options: SdmInstallOptions): Promise<string> {
  const response = await get(upgrade, options);
  const body = await response.body.text();
  let zip: unknown;
  try {
    zip = response.statusCode === 200 ? (JSON.parse(body) as { url?: unknown }).url : undefined;
  } catch {
    zip = undefined;
  }
  if (typeof zip !== 'string') {
    throw new SdmInstallError(
      `strongDM did not say where sdm ${new URL(upgrade).searchParams.get('version')} is (HTTP ${response.statusCode} from ${displayUrl(upgrade)}); ` +
        'check sdm-version, or set sdm-download-url to the zip',
    );
  }
  const zipUrl = new URL(zip, upgrade).toString();
  refuseDowngrade(upgrade, zipUrl, 'strongDM pointed sdm');
  return zipUrl;
}

/**
 * The vendor's published SHA-256 for a version, when sdm-sha256 is not pinned. UNCONFIRMED body format: text
 * holding exactly one 64-hex value (either case). Without one, `why` completes "sdm-checksum-url …".
 */
async function vendorSha256(
  version: string,
  options: SdmInstallOptions,
): Promise<{ sha256?: string; why: string }> {
  if (!options.checksumUrl) return { why: 'is none' };
  const url = new URL(options.checksumUrl);
  const arch = process.arch === 'x64' ? 'amd64' : process.arch; // strongDM's names: amd64, arm64
  for (const [key, value] of Object.entries({ os: 'linux', arch, software: 'sdm-cli', version })) {
    url.searchParams.set(key, value);
  }
  try {
    const response = await get(url.toString(), options);
    const text = await response.body.text();
    if (response.statusCode !== 200) return { why: `answered HTTP ${response.statusCode}` };
    const sha256 = publishedSha256(text);
    return sha256 ? { sha256, why: '' } : { why: 'gave no single SHA-256' };
  } catch {
    return { why: 'could not be reached' };
  }
}

/** The one SHA-256 in a checksum body; undefined when it holds none, or several different ones. */
export function publishedSha256(body: string): string | undefined {
  const values = new Set((body.match(/\b[0-9a-f]{64}\b/gi) ?? []).map((value) => value.toLowerCase()));
  return values.size === 1 ? [...values][0] : undefined;
}

/**
 * Saves, verifies and unzips the zip, and caches it. A zip that could not be verified is refused, unless the user
 * opted out with sdm-checksum-url: none: then it is used for this run only and never cached.
 */
async function saveAndCache(
  first: Response,
  url: string,
  version: string,
  options: SdmInstallOptions,
  published: Published,
): Promise<SdmInstallation> {
  const workDir = await mkdtemp(path.join(options.tempDir, 'sdm-'));
  try {
    const zipPath = path.join(workDir, 'sdm.zip');
    const sha256 = await downloadHashed(first, url, version, zipPath, options);
    const vendor = options.sha256 ? undefined : await published(version);
    const expected = options.sha256 || vendor?.sha256;
    if (!expected && options.checksumUrl) {
      throw new SdmInstallError(unverifiedMessage(version, sha256, vendor?.why ?? ''));
    }
    if (expected && sha256 !== expected) {
      throw new SdmInstallError(
        options.sha256
          ? `the downloaded sdm ${version} zip has SHA-256 ${sha256}, not the sdm-sha256 given (${options.sha256}); ` +
              'nothing was run. Check the mirror, or update sdm-sha256 if the release changed'
          : `the downloaded sdm ${version} zip has SHA-256 ${sha256}, not the one strongDM publishes (${expected}); ` +
              'nothing was run. Check the mirror or sdm-checksum-url',
      );
    }
    const binary = await extractSdm(zipPath, path.join(workDir, 'unzipped'), version);
    if (!expected) {
      // sdm-checksum-url: none. Usable for this run, but never put where later runs would trust it.
      core.warning(
        `sdm ${version} (SHA-256 ${sha256}) is not verified: sdm-checksum-url is none and sdm-sha256 is not set. It is used for this run only, not cached; pin sdm-sha256.`,
      );
      return { binary, version, verifiedBy: 'unverified' };
    }
    await copyFile(zipPath, path.join(path.dirname(binary), CACHED_ZIP));
    try {
      await tc.cacheDir(path.dirname(binary), TOOL_NAME, version);
      core.info(`sdm ${version} downloaded (SHA-256 ${sha256}, verified) and cached`);
    } catch (error) {
      // Another job on this runner may be caching the same version right now; this run has its own copy.
      core.warning(`sdm ${version} was downloaded but could not be cached (${(error as Error).message}).`);
    }
    // Run the copy in this job's temp folder: another job on the same runner may be re-caching the same version,
    // which replaces the cached folder while it is in use. The runner empties RUNNER_TEMP after the job.
    return { binary, version, verifiedBy: options.sha256 ? 'sdm-sha256' : 'vendor checksum' };
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

/** The refusal of a zip that neither sdm-sha256 nor sdm-checksum-url could verify: both fixes, and the opt-out. */
export function unverifiedMessage(version: string, sha256: string, why: string): string {
  return (
    `the downloaded sdm ${version} zip could not be verified (sdm-sha256 is not set and sdm-checksum-url ${why}); ` +
    "nothing was run. Fix either: pin sdm-sha256 to the zip's SHA-256 (sha256sum of a copy you trust; this " +
    `download's is ${sha256}), or make sdm-checksum-url answer with it. sdm-checksum-url: none runs it unverified`
  );
}

/** Writes the zip to `zipPath` and returns its SHA-256; a download that breaks off is requested again at once. */
async function downloadHashed(
  first: Response,
  url: string,
  version: string,
  zipPath: string,
  options: SdmInstallOptions,
): Promise<string> {
  // get() itself waits out a failing server; a body that breaks off is retried without a wait.
  return retry<string>(
    async (attempt) => {
      const response = attempt === 1 ? first : await get(url, options);
      if (response.statusCode !== 200) {
        await response.body.dump();
        throw new SdmInstallError(
          `downloading sdm from ${displayUrl(url)} failed with HTTP ${response.statusCode}`,
        );
      }
      try {
        return { done: await writeHashed(response.body, zipPath) };
      } catch (error) {
        return { again: (error as Error).message, waitMs: 0 };
      }
    },
    {
      attempts: MAX_ATTEMPTS,
      giveUp: (failure) => {
        throw new SdmInstallError(
          `the download of sdm ${version} from ${displayUrl(url)} broke off ${MAX_ATTEMPTS} times (${failure}); run again later`,
        );
      },
    },
  );
}

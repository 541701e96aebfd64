// sdm made ready for this run, every finding a checklist line: installed (or found in the tool cache), run in a
// private HOME, its own help read for what it offers, the admin token tried on each list, and the configured
// resources checked against strongDM before any change. Only runs that have something to grant or check need it.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import type { Checklist } from './checklist.js';
import { InputError, type Inputs } from './inputs.js';
import type { DesiredWindow } from './windows.js';
import type { Deadline } from './retry.js';
import pLimit from 'p-limit';
import {
  RESOURCE_KINDS,
  REVOKE_SUBCOMMAND,
  SdmCli,
  SdmError,
  type ResourceKind,
  type SdmCapabilities,
} from './sdm.js';
import { installSdm, type SdmInstallation } from './sdm-install.js';
import { forLogLine } from './text.js';
import type { LedgerEntry, PlanRow } from './types.js';

/** sdm ready to use for this run. */
export interface SdmSession {
  cli: SdmCli;
  capabilities: SdmCapabilities;
  /** Emails of strongDM's active users. */
  activeEmails: string[];
  /** Names of every datasource, server and cluster strongDM lists. */
  resourceNames: Set<string>;
  /** Removes sdm's private HOME; the run calls it when it ends, whatever the outcome. */
  close(): Promise<void>;
}

interface SetUpContext {
  deadline: Deadline;
  cancel: AbortSignal;
  kill: AbortSignal;
  checklist: Checklist;
}

/**
 * Whether this run needs sdm: `check` (a dry run with something to check: it checks everything it can), `apply`
 * (the plan made without strongDM has grants or revocations), `unchanged` (everything wanted is already granted
 * and nothing is to be revoked), or `nothing` (no on-call, no grant). Only `check` and `apply` set sdm up: an
 * unchanged re-run touches nothing but PagerDuty and the ledger (no download, no sdm command).
 */
export type SdmNeed = 'check' | 'apply' | 'unchanged' | 'nothing';

export function sdmNeed(
  inputs: Pick<Inputs, 'dryRun'>,
  windows: DesiredWindow[],
  active: LedgerEntry[],
  offlinePlan: PlanRow[],
): SdmNeed {
  if (windows.length === 0 && active.length === 0) return 'nothing';
  if (inputs.dryRun) return 'check';
  const changes = offlinePlan.some((row) => row.status === 'pending' || row.status === 'pending-revoke');
  return changes ? 'apply' : 'unchanged';
}

/** sdm is set up when there is something to grant, revoke or check, and a token to do it with. */
export async function setUpSdmIfNeeded(
  inputs: Inputs,
  context: SetUpContext,
  need: SdmNeed,
  notes: string[],
): Promise<SdmSession | undefined> {
  const needed = need === 'check' || need === 'apply';
  if (needed && inputs.sdmAdminToken) {
    return core.group('Setting up sdm', () => setUpSdm(inputs, context));
  }
  if (!inputs.sdmAdminToken) {
    if (needed) {
      notes.push('Dry run without sdm-admin-token: strongDM accounts and resource names were not checked.');
    }
    context.checklist.warn(
      'sdm',
      'not checked: no sdm-admin-token (dry run)',
      'give sdm-admin-token to a dry run to check sdm, the token and the resources',
    );
  } else {
    context.checklist.pass(
      'sdm',
      need === 'unchanged'
        ? 'not needed: every on-call window is already granted (ledger) and nothing is to be revoked'
        : 'not needed: nothing to grant, revoke or check in this run',
    );
  }
  return undefined;
}

async function setUpSdm(inputs: Inputs, context: SetUpContext): Promise<SdmSession> {
  const { checklist } = context;
  const tempDir = process.env.RUNNER_TEMP || os.tmpdir();
  const installation = await checklist.verify(
    'sdm download',
    () =>
      installSdm({
        version: inputs.sdmVersion,
        downloadUrl: inputs.sdmDownloadUrl,
        sha256: inputs.sdmSha256,
        checksumUrl: inputs.sdmChecksumUrl,
        tempDir,
        timeoutMs: inputs.requestTimeoutMs,
        deadline: context.deadline,
      }),
    (found) => `sdm ${found.version}`,
  );
  core.setOutput('sdm-version', installation.version);
  checkVerification(installation, checklist);
  const home = await privateHome(tempDir);
  const cli = new SdmCli({
    binary: installation.binary,
    adminToken: inputs.sdmAdminToken,
    home,
    timeoutMs: inputs.sdmTimeoutMs,
    deadline: context.deadline,
    signal: context.kill,
    cancel: context.cancel,
  });
  const close = () => rm(home, { recursive: true, force: true });
  try {
    const found = await readStrongDm(cli, inputs.concurrency);
    const capabilities = await found.capabilities;
    checkGrantFlags(capabilities, checklist);
    checkRevokeCommand(capabilities, inputs.revokeStale, checklist);
    const resourceNames = await checkResources(found.resources, inputs, checklist);
    const activeEmails = await checklist.verify(
      'sdm admin users list',
      () => found.users,
      (emails) => `sdm-admin-token may list users: ${emails.length} active`,
    );
    return { cli, capabilities, activeEmails, resourceNames, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** What strongDM holds, each settled (never rejecting) so a failure is reported in its turn. */
interface StrongDmFindings {
  capabilities: Promise<SdmCapabilities>;
  resources: Array<{ kind: ResourceKind; names: Promise<string[]> }>;
  users: Promise<string[]>;
}

/**
 * sdm's help and the four lists, run at the same time within `concurrency` and all finished before any is judged,
 * so no command is still running once the checks below have failed the run. The checklist keeps its order.
 */
async function readStrongDm(cli: SdmCli, concurrency: number): Promise<StrongDmFindings> {
  const limit = pLimit(concurrency);
  const started = {
    capabilities: limit(() => cli.probeCapabilities()),
    resources: RESOURCE_KINDS.map((kind) => ({ kind, names: limit(() => cli.listResourceNames(kind)) })),
    users: limit(() => cli.listUserEmails()),
  };
  const all = [started.capabilities, ...started.resources.map((list) => list.names), started.users];
  await Promise.allSettled(all);
  return started;
}

/** A folder only this run's sdm uses as HOME and SDM_HOME: no earlier job's ~/.sdm, and no state left behind. */
async function privateHome(tempDir: string): Promise<string> {
  const home = await mkdtemp(path.join(tempDir, 'sdm-home-'));
  await chmod(home, 0o700);
  return home;
}

function checkVerification(installation: SdmInstallation, checklist: Checklist): void {
  const check = 'sdm verified';
  switch (installation.verifiedBy) {
    case 'sdm-sha256':
      return checklist.pass(check, 'the zip matches the pinned sdm-sha256');
    case 'vendor checksum':
      return checklist.pass(check, "the zip matches strongDM's published SHA-256");
    case 'tool cache':
      return checklist.warn(
        check,
        'from the tool cache, not checked again: sdm-checksum-url is none and sdm-sha256 is not set',
        'pin sdm-sha256 (sha256sum of the zip)',
      );
    case 'unverified':
      return checklist.warn(
        check,
        'not verified: sdm-checksum-url is none and sdm-sha256 is not set',
        'pin sdm-sha256 (sha256sum of the zip)',
      );
  }
}

/** grant-temporary must take --from and --until: without them no grant can be bounded, so none is made. */
function checkGrantFlags(capabilities: SdmCapabilities, checklist: Checklist): void {
  const offered = capabilities.grantFlags.length > 0 ? capabilities.grantFlags.join(', ') : 'none';
  if (capabilities.canGrant) {
    checklist.pass('grant-temporary flags', `offers ${offered}`);
    return;
  }
  const message = `this sdm's "admin users grant-temporary" does not offer --from and --until (its help lists: ${forLogLine(offered, 200)}); no grant was made. Use an sdm version whose grant-temporary takes --from and --until`;
  checklist.fail(
    'grant-temporary flags',
    `needs --from and --until; sdm lists ${offered}`,
    'use an sdm version that has them',
  );
  throw new SdmError(message);
}

function checkRevokeCommand(capabilities: SdmCapabilities, revokeStale: boolean, checklist: Checklist): void {
  const check = 'revoke command';
  if (capabilities.canRevoke) {
    checklist.pass(check, `sdm admin users ${REVOKE_SUBCOMMAND} is offered`);
  } else if (revokeStale) {
    checklist.fail(
      check,
      `sdm admin users ${REVOKE_SUBCOMMAND} is not offered (sdm admin users has: ${capabilities.userCommands.join(', ') || 'nothing readable'}); stale grants cannot be revoked`,
      'set revoke-stale: false; stale grants are then reported and end when they expire',
    );
  } else {
    checklist.pass(
      check,
      `sdm admin users ${REVOKE_SUBCOMMAND} is not offered; not needed with revoke-stale: false`,
    );
  }
}

/** Each resource kind listed with the admin token, and every configured resource found among them. */
async function checkResources(
  lists: StrongDmFindings['resources'],
  inputs: Inputs,
  checklist: Checklist,
): Promise<Set<string>> {
  const known = new Set<string>();
  for (const { kind, names: listed } of lists) {
    const names = await checklist.verify(
      `sdm admin ${kind} list`,
      () => listed,
      (found) => `sdm-admin-token may list ${kind}: ${found.length}`,
    );
    for (const name of names) known.add(name);
  }
  const configured = [...new Set(inputs.rules.flatMap((rule) => rule.resources))];
  for (const name of configured) {
    if (known.has(name)) checklist.pass(`resource ${name}`, 'exists in strongDM');
    else
      checklist.fail(
        `resource ${name}`,
        'strongDM has no datasource, server or cluster by this name',
        'check the spelling in strongDM',
      );
  }
  // Unknown resource names are a configuration error: refuse before any grant rather than fail one per person.
  const unknown = inputs.rules.flatMap((rule) =>
    rule.resources.filter((name) => !known.has(name)).map((name) => ({ rule: rule.name, name })),
  );
  if (unknown.length > 0) {
    const where = inputs.simpleMode ? 'resources' : 'rules';
    throw new InputError(
      unknown.map(
        ({ rule, name }) =>
          `${where}${inputs.simpleMode ? '' : ` (rule "${rule}")`}: strongDM has no datasource, server or cluster named "${forLogLine(name)}"; check the spelling in strongDM`,
      ),
    );
  }
  return known;
}

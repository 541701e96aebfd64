// sdm made ready for this run: installed (or found in the tool cache), given the admin token, and the configured
// resource names checked against strongDM before any grant. Only runs that have something to grant or check need it.
import os from 'node:os';
import * as core from '@actions/core';
import { InputError, type Inputs } from './inputs.js';
import type { DesiredWindow } from './plan.js';
import type { Deadline } from './retry.js';
import { SdmCli } from './sdm.js';
import { installSdm } from './sdm-install.js';
import { forLogLine } from './text.js';
import type { LedgerEntry } from './types.js';

/** sdm is set up when there is something to grant or to check, and a token to do it with. */
export async function setUpSdmIfNeeded(
  inputs: Inputs,
  context: { deadline: Deadline; kill: AbortSignal },
  windows: DesiredWindow[],
  active: LedgerEntry[],
  notes: string[],
): Promise<SdmCli | undefined> {
  if ((windows.length > 0 || active.length > 0) && inputs.sdmAdminToken) {
    return core.group('Setting up sdm', () => setUpSdm(inputs, context));
  }
  if (windows.length > 0) {
    notes.push('Dry run without sdm-admin-token: strongDM accounts and resource names were not checked.');
  }
  return undefined;
}

async function setUpSdm(inputs: Inputs, context: { deadline: Deadline; kill: AbortSignal }): Promise<SdmCli> {
  const installation = await installSdm({
    version: inputs.sdmVersion,
    downloadUrl: inputs.sdmDownloadUrl,
    sha256: inputs.sdmSha256,
    checksumUrl: inputs.sdmChecksumUrl,
    tempDir: process.env.RUNNER_TEMP || os.tmpdir(),
    timeoutMs: inputs.requestTimeoutMs,
    deadline: context.deadline,
  });
  core.setOutput('sdm-version', installation.version);
  const sdm = new SdmCli({
    binary: installation.binary,
    adminToken: inputs.sdmAdminToken,
    timeoutMs: inputs.sdmTimeoutMs,
    deadline: context.deadline,
    signal: context.kill,
  });
  // Unknown resource names are a configuration error: refuse before any grant rather than fail one per person.
  const known = await sdm.listResourceNames();
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
  return sdm;
}

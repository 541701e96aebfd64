// Which recorded grants this run may act on, and how it records its own. The ledger is evidence, not authority:
// only entries this action signed (ledger-seal.ts) count as access already granted or may be revoked; anything
// else is reported as foreign. Every entry this run writes is signed.
import * as core from '@actions/core';
import type { Checklist } from './checklist.js';
import type { ChangeRecorder } from './executor.js';
import type { Inputs } from './inputs.js';
import { activeEntries, type Ledger } from './ledger.js';
import type { LedgerRecorder } from './ledger-recorder.js';
import { isSealed, seal, type LedgerKey } from './ledger-seal.js';
import type { LedgerStore } from './ledger-stores.js';
import type { LedgerEntry } from './types.js';

/** The grants in force that this action can show it made: a foreign entry is reported, and never acted on. */
export async function readActiveGrants(
  store: LedgerStore,
  keys: LedgerKey[],
  context: { now: Date; checklist: Checklist },
): Promise<LedgerEntry[]> {
  const ledger = await context.checklist.verify(
    'ledger read',
    () => core.group(`Reading the ledger (${store.description})`, () => store.load()),
    (read) => `${store.description}: ${activeEntries(read, context.now).length} grants in force`,
  );
  const own = checkSeals(ledger, keys, store, context);
  const active = activeEntries({ ...ledger, grants: own }, context.now);
  core.info(`${active.length} grants in force according to ${store.description}`);
  return active;
}

function checkSeals(
  ledger: Ledger,
  keys: LedgerKey[],
  store: LedgerStore,
  context: { now: Date; checklist: Checklist },
): LedgerEntry[] {
  const check = 'ledger signatures';
  if (keys.length === 0) {
    context.checklist.warn(
      check,
      'not checked: a dry run given neither sdm-admin-token nor ledger-key has no key to check them with',
      'give the dry run sdm-admin-token',
    );
    return ledger.grants;
  }
  const own = ledger.grants.filter((entry) => isSealed(entry, keys));
  const ownSet = new Set(own);
  const unsigned = ledger.grants.filter((entry) => !ownSet.has(entry));
  const inForce = activeEntries({ ...ledger, grants: unsigned }, context.now);
  const foreign = inForce.length + ledger.malformed.length;
  if (foreign === 0) {
    context.checklist.pass(
      check,
      own.length === 0
        ? 'no entries yet'
        : `every entry in force was written by this action (${own.length} signed)`,
    );
    return own;
  }
  core.warning(
    `${foreign} entries of ${store.description} were not written by this action (malformed, or without a valid signature): they are ignored — never counted as access already granted, never revoked. The branch history shows who wrote them.`,
  );
  context.checklist.fail(
    check,
    `${foreign} foreign entries ignored (${ledger.malformed.length} malformed, ${inForce.length} unsigned or wrongly signed)`,
    'find who wrote them in the state branch history; protect the branch with a ruleset',
  );
  return own;
}

export function checkLedgerWrite(
  inputs: Inputs,
  store: LedgerStore,
  recorder: LedgerRecorder,
  error: Error | undefined,
  checklist: Checklist,
): void {
  const { add, revoke } = recorder.recorded;
  if (inputs.state.kind === 'none') checklist.pass('ledger write', 'state: none keeps no ledger');
  else if (error) checklist.fail('ledger write', `${store.description}: ${error.message}`);
  else if (add + revoke === 0)
    checklist.pass('ledger write', `${store.description}: nothing to record in this run`);
  else
    checklist.pass('ledger write', `${store.description}: recorded ${add} grants and ${revoke} revocations`);
}

/** The recorder, with every entry signed on its way in. */
export function signingRecorder(recorder: LedgerRecorder, keys: LedgerKey[]): ChangeRecorder {
  const [signingKey] = keys;
  return {
    add: (entry) => recorder.add(signingKey ? seal(entry, signingKey) : entry),
    revoke: (revocation) => recorder.revoke(revocation),
  };
}

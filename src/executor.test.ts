import { describe, expect, it } from 'vitest';
import { ledgerEntry } from '../test/samples.js';
import { applyPlan, type ChangeRecorder, type ExecutionContext } from './executor.js';
import { Deadline } from './retry.js';
import type { SdmResult, SdmWrites } from './sdm.js';
import type {
  LedgerEntry,
  PendingGrantRow,
  PendingRevokeRow,
  PlanRow,
  Revocation,
  UnchangedRow,
} from './types.js';

const now = new Date('2026-11-26T08:30:00Z');
const ok: SdmResult = { exitCode: 0, stdout: '', stderr: '', timedOut: false };
const refused = (stderr: string): SdmResult => ({ exitCode: 1, stdout: '', stderr, timedOut: false });

/** Stands in for sdm: records every call in order, answers from `answer`, and can hold a call until released. */
class FakeSdm implements SdmWrites {
  calls: string[] = [];
  running = 0;
  mostAtOnce = 0;
  constructor(
    private readonly answer: (call: string) => SdmResult = () => ok,
    private readonly onCall: (call: string) => void = () => {},
  ) {}
  grantTemporary(resource: string, email: string, from: string, until: string): Promise<SdmResult> {
    return this.call(`grant ${resource} ${email} ${from} ${until}`);
  }
  revokeTemporary(resource: string, email: string): Promise<SdmResult> {
    return this.call(`revoke ${resource} ${email}`);
  }
  private async call(call: string): Promise<SdmResult> {
    this.calls.push(call);
    this.onCall(call);
    this.running++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.running--;
    return this.answer(call);
  }
}

class Recorder implements ChangeRecorder {
  added: LedgerEntry[] = [];
  revoked: Revocation[] = [];
  add(entry: LedgerEntry): void {
    this.added.push(entry);
  }
  revoke(revocation: Revocation): void {
    this.revoked.push(revocation);
  }
}

const source = {
  scheduleId: 'PS',
  scheduleName: 'S',
  escalationPolicyId: 'PE',
  escalationPolicyName: 'E',
  escalationLevel: 1,
};

function pending(email: string, resource: string, fromHour: number, untilHour: number): PendingGrantRow {
  return {
    pagerdutyUserId: `P-${email}`,
    name: email,
    email,
    sdmEmail: email,
    resource,
    rule: 'default',
    source,
    from: new Date(Date.UTC(2026, 10, 26, fromHour)),
    until: new Date(Date.UTC(2026, 10, 26, untilHour)),
    status: 'pending',
    reason: '',
    missingUser: false,
  };
}

function recorded<S extends 'pending-revoke' | 'unchanged'>(
  status: S,
  email: string,
  from: string,
  until: string,
): S extends 'unchanged' ? UnchangedRow : PendingRevokeRow {
  const entry = { ...ledgerEntry(email, from, until), resource: 'db' };
  return {
    pagerdutyUserId: entry.pagerdutyUserId,
    name: entry.name,
    email,
    sdmEmail: email,
    resource: 'db',
    rule: 'default',
    source,
    from: new Date(from),
    until: new Date(until),
    status,
    reason: '',
    missingUser: false,
    ledgerEntry: entry,
  } as S extends 'unchanged' ? UnchangedRow : PendingRevokeRow;
}

function context(overrides: Partial<ExecutionContext> = {}): ExecutionContext {
  return {
    now,
    runId: '42',
    runUrl: 'https://github.com/acme/ops/actions/runs/42',
    concurrency: 4,
    deadline: new Deadline(60_000),
    cancel: new AbortController().signal,
    ...overrides,
  };
}

describe('applyPlan', () => {
  it('revokes before it grants, once per user and resource, and records each revoked entry', async () => {
    const sdm = new FakeSdm();
    const recorder = new Recorder();
    const rows: PlanRow[] = [
      pending('ada@example.com', 'db', 9, 17),
      recorded('pending-revoke', 'bob@example.com', '2026-11-26T08:00:00Z', '2026-11-26T12:00:00Z'),
      recorded('pending-revoke', 'bob@example.com', '2026-11-26T12:00:00Z', '2026-11-26T18:00:00Z'),
    ];
    const reported = await applyPlan(sdm, rows, recorder, context());
    expect(sdm.calls).toEqual([
      'revoke db bob@example.com',
      'grant db ada@example.com 2026-11-26T09:00:00Z 2026-11-26T17:00:00Z',
    ]);
    expect(reported.map((row) => row.status)).toEqual(['granted', 'revoked', 'revoked']);
    expect(recorder.revoked.map((r) => r.id)).toEqual(
      rows.flatMap((row) => (row.status === 'pending-revoke' ? [row.ledgerEntry.id] : [])),
    );
    expect(recorder.added).toHaveLength(1);
    expect(recorder.added[0]).toMatchObject({
      email: 'ada@example.com',
      resource: 'db',
      from: '2026-11-26T09:00:00Z',
      until: '2026-11-26T17:00:00Z',
      runId: '42',
      grantedAt: '2026-11-26T08:30:00Z',
    });
  });

  it('grants one user and resource one after another in time order, other pairs alongside', async () => {
    const running = new Set<string>();
    let overlapped = false;
    const sdm = new FakeSdm(
      (call) => {
        running.delete(call.split(' ').slice(0, 3).join(' '));
        return ok;
      },
      (call) => {
        const pair = call.split(' ').slice(0, 3).join(' ');
        if (running.has(pair)) overlapped = true;
        running.add(pair);
      },
    );
    const rows = [
      pending('ada@example.com', 'db', 9, 10),
      pending('bob@example.com', 'db', 9, 10),
      pending('ada@example.com', 'db', 11, 12),
      pending('ada@example.com', 'db', 13, 14),
    ];
    await applyPlan(sdm, rows, new Recorder(), context());
    expect(overlapped).toBe(false);
    expect(sdm.calls.filter((call) => call.includes('ada@'))).toEqual([
      'grant db ada@example.com 2026-11-26T09:00:00Z 2026-11-26T10:00:00Z',
      'grant db ada@example.com 2026-11-26T11:00:00Z 2026-11-26T12:00:00Z',
      'grant db ada@example.com 2026-11-26T13:00:00Z 2026-11-26T14:00:00Z',
    ]);
    expect(sdm.mostAtOnce).toBe(2); // ada's chain and bob's grant
  });

  it('runs no more than `concurrency` commands at once', async () => {
    const sdm = new FakeSdm();
    const rows = Array.from({ length: 12 }, (_, i) => pending(`user${i}@example.com`, 'db', 9, 17));
    await applyPlan(sdm, rows, new Recorder(), context({ concurrency: 3 }));
    expect(sdm.calls).toHaveLength(12);
    expect(sdm.mostAtOnce).toBe(3);
  });

  it('defers a refused grant while the user holds another grant of the resource, and fails one without', async () => {
    const sdm = new FakeSdm((call) => (call.startsWith('grant') ? refused('AlreadyExists') : ok));
    const holding = recorded('unchanged', 'ada@example.com', '2026-11-26T08:00:00Z', '2026-11-26T09:00:00Z');
    const rows: PlanRow[] = [
      holding,
      pending('ada@example.com', 'db', 10, 12),
      pending('bob@example.com', 'db', 10, 12),
    ];
    const recorder = new Recorder();
    const [, ada, bob] = await applyPlan(sdm, rows, recorder, context());
    expect(ada).toMatchObject({
      status: 'skipped',
      deferred: true,
      reason: expect.stringMatching(/^deferred: .*AlreadyExists/),
    });
    expect(bob).toMatchObject({ status: 'failed', reason: 'exit 1: AlreadyExists' });
    expect(recorder.added).toEqual([]);
  });

  it('defers a grant refused after the same run granted an earlier one of the pair', async () => {
    let grants = 0;
    const sdm = new FakeSdm(() => (++grants === 1 ? ok : refused('one grant at a time')));
    const rows = [pending('ada@example.com', 'db', 9, 10), pending('ada@example.com', 'db', 11, 12)];
    const reported = await applyPlan(sdm, rows, new Recorder(), context());
    expect(reported.map((row) => row.status)).toEqual(['granted', 'skipped']);
  });

  it('fails a grant that timed out even while the user holds another grant (its outcome is unknown)', async () => {
    const sdm = new FakeSdm(() => ({ ...refused(''), exitCode: -1, timedOut: true }));
    const rows: PlanRow[] = [
      recorded('unchanged', 'ada@example.com', '2026-11-26T08:00:00Z', '2026-11-26T09:00:00Z'),
      pending('ada@example.com', 'db', 10, 12),
    ];
    const [, ada] = await applyPlan(sdm, rows, new Recorder(), context());
    expect(ada).toMatchObject({ status: 'failed', reason: expect.stringMatching(/sdm-timeout/) });
  });

  it('reports a failed revoke on each of its rows, and then treats the pair as still held', async () => {
    const sdm = new FakeSdm((call) => (call.startsWith('revoke') ? refused('NotFound') : refused('overlap')));
    const recorder = new Recorder();
    const rows: PlanRow[] = [
      recorded('pending-revoke', 'ada@example.com', '2026-11-26T08:00:00Z', '2026-11-26T12:00:00Z'),
      pending('ada@example.com', 'db', 13, 17),
    ];
    const [revoke, grant] = await applyPlan(sdm, rows, recorder, context());
    expect(revoke).toMatchObject({ status: 'failed', reason: 'revoke failed: exit 1: NotFound' });
    expect(grant).toMatchObject({ status: 'skipped', deferred: true });
    expect(recorder.revoked).toEqual([]);
  });

  it('starts nothing once the run is cancelled, and says so on every row not attempted', async () => {
    const cancel = new AbortController();
    const sdm = new FakeSdm(
      () => ok,
      () => cancel.abort(), // the signal arrives while the first command runs
    );
    const rows: PlanRow[] = [
      recorded('pending-revoke', 'bob@example.com', '2026-11-26T08:00:00Z', '2026-11-26T12:00:00Z'),
      pending('ada@example.com', 'db', 9, 10),
      pending('ada@example.com', 'db', 11, 12),
    ];
    const recorder = new Recorder();
    const reported = await applyPlan(sdm, rows, recorder, context({ cancel: cancel.signal, concurrency: 1 }));
    expect(sdm.calls).toEqual(['revoke db bob@example.com']);
    expect(reported.map((row) => [row.status, row.reason])).toEqual([
      ['revoked', ''],
      ['failed', 'not attempted: the run was cancelled'],
      ['failed', 'not attempted: the run was cancelled'],
    ]);
    expect(recorder.revoked).toHaveLength(1); // what was done is still recorded
  });

  it('starts nothing once the time budget is spent', async () => {
    const sdm = new FakeSdm();
    const rows: PlanRow[] = [
      recorded('pending-revoke', 'bob@example.com', '2026-11-26T08:00:00Z', '2026-11-26T12:00:00Z'),
      pending('ada@example.com', 'db', 9, 10),
    ];
    const reported = await applyPlan(sdm, rows, new Recorder(), context({ deadline: new Deadline(0) }));
    expect(sdm.calls).toEqual([]);
    expect(reported.map((row) => [row.status, row.reason])).toEqual([
      ['failed', 'revoke failed: not attempted: time-budget was spent'],
      ['failed', 'not attempted: time-budget was spent'],
    ]);
  });

  it('leaves rows that need no command as they are', async () => {
    const sdm = new FakeSdm();
    const unchanged = recorded(
      'unchanged',
      'ada@example.com',
      '2026-11-26T08:00:00Z',
      '2026-11-26T09:00:00Z',
    );
    const reported = await applyPlan(sdm, [unchanged], new Recorder(), context());
    expect(reported).toEqual([unchanged]);
    expect(sdm.calls).toEqual([]);
  });
});

// Tests of the fake sdm CLI's state file (sdm-state.mjs): defaults, and the lock that keeps parallel runs of the
// fake from losing each other's writes.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import {
  defaultSdmGrantFlags,
  defaultSdmToken,
  defaultSdmWriteLimit,
  readSdmState,
  sdmInvocationsPath,
  updateSdmState,
  writeSdmState,
} from './sdm-state.mjs';
import { at, grantArgs, HOUR, sdm, sdmAsync, statePath, tmp, useSeededSdmState } from './sdm-testing.js';

useSeededSdmState();

describe('fake sdm state file', () => {
  it('fills defaults', () => {
    const p = path.join(tmp, 'defaults.json');
    writeSdmState(p, { users: [{ email: 'x@example.com' }], resources: [{ name: 'db' }] });
    const s = readSdmState(p);
    expect(s.token).toBe(defaultSdmToken);
    expect(defaultSdmToken).toBe('sdm-test-admin-token');
    expect(s.version).toBe('46.0.0');
    expect(s.strict).toBe(false);
    expect(s.revokeCommand).toBe(true);
    expect(s.grantFlags).toEqual(['--from', '--until']);
    expect(s.grants).toEqual([]);
    expect(s.invocations).toEqual([]);
    expect(s.faults).toEqual([]);
    expect(s.latencyMs).toBe(0);
    expect(s.writeLimit).toEqual({ max: 500, windowMs: 60_000 });
    expect(defaultSdmWriteLimit).toEqual({ max: 500, windowMs: 60_000 });
    expect(s.writeTimes).toEqual([]);
    expect(s.users[0]?.id).toMatch(/^a-/);
    expect(s.users[0]?.tags).toEqual({});
    expect(s.resources[0]?.id).toMatch(/^rs-/);
    expect(s.resources[0]?.kind).toBe('datasource');
    expect(fs.existsSync(`${p}.lock`)).toBe(false);
  });

  it('waits for a held lock instead of writing past it', async () => {
    fs.mkdirSync(`${statePath}.lock`);
    const pending = sdmAsync(['--version']);
    await new Promise((r) => setTimeout(r, 600));
    expect(readSdmState(statePath).invocations).toHaveLength(0);
    fs.rmdirSync(`${statePath}.lock`);
    expect((await pending).code).toBe(0);
    expect(readSdmState(statePath).invocations).toHaveLength(1);
  });

  it('breaks a stale lock left by a killed process', () => {
    fs.mkdirSync(`${statePath}.lock`);
    const old = new Date(Date.now() - 20_000);
    fs.utimesSync(`${statePath}.lock`, old, old);
    const r = sdm(['--version']);
    expect(r.code).toBe(0);
    expect(fs.existsSync(`${statePath}.lock`)).toBe(false);
    expect(readSdmState(statePath).invocations).toHaveLength(1);
  });

  it('keeps the configured command set, and refuses grantFlags it cannot model', () => {
    const p = path.join(tmp, 'commands.json');
    const s = writeSdmState(p, { revokeCommand: false, grantFlags: ['--until'] });
    expect(s).toMatchObject({ revokeCommand: false, grantFlags: ['--until'] });
    expect(readSdmState(p)).toMatchObject({ revokeCommand: false, grantFlags: ['--until'] });
    expect(writeSdmState(p, { grantFlags: [] }).grantFlags).toEqual([]);
    expect(defaultSdmGrantFlags).toEqual(['--from', '--until']);
    expect(() => writeSdmState(p, { grantFlags: ['--duration'] })).toThrow(/grantFlags/);
    expect(() => writeSdmState(p, { grantFlags: ['from'] })).toThrow(/grantFlags/);
    expect(() => writeSdmState(p, { grantFlags: ['--from', '--from'] })).toThrow(/duplicate/);
  });

  it("keeps users' permissionLevel as seeded", () => {
    const p = path.join(tmp, 'levels.json');
    writeSdmState(p, {
      users: [{ email: 'a@example.com', permissionLevel: 'suspended' }, { email: 'b@example.com' }],
    });
    const [a, b] = readSdmState(p).users;
    expect(a?.permissionLevel).toBe('suspended');
    expect(a?.suspended).toBeUndefined();
    expect(b).not.toHaveProperty('permissionLevel');
  });

  it('a state file the fake cannot model makes the fake exit 70', () => {
    fs.writeFileSync(statePath, JSON.stringify({ grantFlags: ['--duration'] }));
    const r = sdm(['admin', 'users', '--help']);
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/grantFlags/);
  });

  it('keeps latencyMs, writeLimit (null lifts it) and writeTimes, and refuses values it cannot model', () => {
    const p = path.join(tmp, 'pacing.json');
    writeSdmState(p, { latencyMs: 250, writeLimit: { max: 3, windowMs: 2000 }, writeTimes: [1, 2] });
    expect(readSdmState(p)).toMatchObject({
      latencyMs: 250,
      writeLimit: { max: 3, windowMs: 2000 },
      writeTimes: [1, 2],
    });
    expect(writeSdmState(p, { writeLimit: null }).writeLimit).toBeNull();
    expect(readSdmState(p).writeLimit).toBeNull();
    expect(() => writeSdmState(p, { latencyMs: -1 })).toThrow(/latencyMs/);
    expect(() => writeSdmState(p, { writeLimit: { max: 0, windowMs: 1000 } })).toThrow(/writeLimit/);
    expect(() => writeSdmState(p, { writeLimit: { max: 1.5, windowMs: 1000 } })).toThrow(/writeLimit/);
    expect(() => writeSdmState(p, { writeLimit: { max: 1, windowMs: 0 } })).toThrow(/writeLimit/);
    expect(() => writeSdmState(p, { writeTimes: ['now' as unknown as number] })).toThrow(/writeTimes/);
  });
});

describe('fake sdm state file: the invocations file', () => {
  const invocation = (n: number) => ({ argv: [`seeded-${n}`], exitCode: 0 });

  it('invocations are appended beside the state file and merged back by readSdmState', () => {
    expect(sdm(['--version']).code).toBe(0);
    expect(sdm(['admin', 'users', 'list', '--json']).code).toBe(0);
    const lines = fs.readFileSync(sdmInvocationsPath(statePath), 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l).argv[0])).toEqual(['--version', 'admin']);
    expect(JSON.parse(fs.readFileSync(statePath, 'utf8'))).not.toHaveProperty('invocations');
    expect(readSdmState(statePath).invocations.map((i) => i.argv[0])).toEqual(['--version', 'admin']);
  });

  it('a re-seeded state inherits no invocation; seeded ones come first', () => {
    expect(sdm(['--version']).code).toBe(0);
    writeSdmState(statePath, {});
    expect(readSdmState(statePath).invocations).toEqual([]);
    expect(fs.existsSync(sdmInvocationsPath(statePath))).toBe(false);
    writeSdmState(statePath, { invocations: [invocation(1), invocation(2)] });
    expect(sdm(['--version']).code).toBe(0);
    expect(readSdmState(statePath).invocations.map((i) => i.argv[0])).toEqual([
      'seeded-1',
      'seeded-2',
      '--version',
    ]);
  });

  it('lists and help do not rewrite the state file; grants and consumed faults do', () => {
    const inode = () => fs.statSync(statePath).ino;
    const first = inode();
    expect(sdm(['admin', 'users', 'list', '--json']).code).toBe(0);
    expect(sdm(['admin', 'users', '--help']).code).toBe(0);
    expect(sdm(['admin', 'users', 'list', '--nope']).code).toBe(1);
    expect(inode()).toBe(first);
    expect(sdm(grantArgs('prod-postgres', 'bob@example.com', at(0), at(HOUR))).code).toBe(0);
    const second = inode();
    expect(second).not.toBe(first);
    updateSdmState(statePath, (s) => {
      s.faults.push({ command: 'users list', action: 'fail' });
    });
    const third = inode();
    expect(sdm(['admin', 'users', 'list', '--json']).code).toBe(1);
    expect(inode()).not.toBe(third);
    expect(readSdmState(statePath).faults).toEqual([]);
    expect(readSdmState(statePath).invocations).toHaveLength(5);
  });

  it('updateSdmState keeps invocations, or rewrites them when the callback changed them', () => {
    expect(sdm(['--version']).code).toBe(0);
    expect(sdm(['--version']).code).toBe(0);
    updateSdmState(statePath, (s) => {
      s.strict = true;
    });
    expect(readSdmState(statePath).invocations).toHaveLength(2);
    updateSdmState(statePath, (s) => {
      s.invocations.splice(0, 1);
    });
    expect(readSdmState(statePath).invocations).toHaveLength(1);
    updateSdmState(statePath, (s) => {
      s.invocations = [];
    });
    expect(readSdmState(statePath).invocations).toEqual([]);
    expect(sdm(['--version']).code).toBe(0);
    expect(readSdmState(statePath)).toMatchObject({ strict: true, invocations: [{ argv: ['--version'] }] });
  });

  it('a hand-written state file may hold invocations: they come first, and move to the invocations file', () => {
    fs.writeFileSync(statePath, JSON.stringify({ invocations: [invocation(0)] }));
    expect(sdm(['--version']).code).toBe(0);
    expect(readSdmState(statePath).invocations.map((i) => i.argv[0])).toEqual(['seeded-0', '--version']);
    updateSdmState(statePath, () => undefined);
    expect(JSON.parse(fs.readFileSync(statePath, 'utf8'))).not.toHaveProperty('invocations');
    expect(readSdmState(statePath).invocations.map((i) => i.argv[0])).toEqual(['seeded-0', '--version']);
  });

  it('skips an unterminated last line (an append under way)', () => {
    expect(sdm(['--version']).code).toBe(0);
    fs.appendFileSync(sdmInvocationsPath(statePath), '{"argv":["half');
    expect(readSdmState(statePath).invocations).toHaveLength(1);
  });

  it('16 concurrent invocations lose neither an invocation nor a grant', async () => {
    const users = Array.from({ length: 8 }, (_, i) => `u${i}@example.com`);
    const runs = [
      ...users.map((u) => sdmAsync(grantArgs('prod-postgres', u, at(0), at(HOUR)))),
      ...users.map(() => sdmAsync(['admin', 'users', 'list', '--json'])),
    ];
    expect((await Promise.all(runs)).map((r) => r.code)).toEqual(Array(16).fill(0));
    const s = readSdmState(statePath);
    expect(s.grants).toHaveLength(8);
    expect(s.invocations).toHaveLength(16);
    expect(s.writeTimes).toHaveLength(8);
  });
});

// Tests of the fake sdm CLI's state file (sdm-state.mjs): defaults, and the lock that keeps parallel runs of the
// fake from losing each other's writes.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { defaultSdmGrantFlags, defaultSdmToken, readSdmState, writeSdmState } from './sdm-state.mjs';
import { sdm, sdmAsync, statePath, tmp, useSeededSdmState } from './sdm-testing.js';

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
});

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  locateInWorkspace,
  readRegularFile,
  readRegularFileSync,
  WorkspaceFileError,
} from './workspace-files.js';

/** A workspace reached through a symlink (as /tmp → /private/tmp on macOS), and a folder beside it. */
function layout() {
  const top = mkdtempSync(path.join(os.tmpdir(), 'workspace-files-'));
  const real = path.join(top, 'real-workspace');
  mkdirSync(path.join(real, '.github'), { recursive: true });
  const workspace = path.join(top, 'workspace');
  symlinkSync(real, workspace);
  const outside = path.join(top, 'outside');
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret.yml'), 'token: hunter2\n');
  writeFileSync(path.join(real, '.github', 'rules.yml'), 'rules: []\n');
  return { top, real, workspace, outside };
}

const failure = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof WorkspaceFileError) return { code: error.code, reason: error.reason };
    throw error;
  }
  throw new Error('no error');
};

const limit = { maxBytes: 1024 };

describe('locateInWorkspace', () => {
  it('finds a regular file inside the real workspace, through symlinks that stay inside', () => {
    const { real, workspace } = layout();
    symlinkSync('.github/rules.yml', path.join(real, 'link.yml'));
    const found = locateInWorkspace(workspace, 'link.yml', limit);
    expect(found).toEqual({ file: path.join(real, '.github', 'rules.yml'), exists: true });
    expect(readRegularFileSync(found.file, 1024)).toBe('rules: []\n');
  });

  it('refuses paths and symlinks that lead outside, without reading them', () => {
    const { real, workspace, outside } = layout();
    symlinkSync(path.join(outside, 'secret.yml'), path.join(real, 'rules.yml'));
    symlinkSync(outside, path.join(real, 'out'));
    for (const relative of ['rules.yml', '../outside/secret.yml', '/etc/passwd', 'out/secret.yml', '.']) {
      expect(failure(() => locateInWorkspace(workspace, relative, limit))).toEqual({
        code: 'outside',
        reason: 'leads outside the workspace (its real path, symlinks followed)',
      });
    }
    // Not yet there, but created through a symlinked folder outside: refused too.
    expect(
      failure(() => locateInWorkspace(workspace, 'out/new.json', { ...limit, mayBeMissing: true })).code,
    ).toBe('outside');
  });

  it('refuses FIFOs, directories, dangling symlinks and files over the limit', () => {
    const { real, workspace } = layout();
    execFileSync('mkfifo', [path.join(real, 'fifo.yml')]);
    symlinkSync('nowhere.yml', path.join(real, 'dangling.yml'));
    writeFileSync(path.join(real, 'big.yml'), 'x'.repeat(1025));
    expect(failure(() => locateInWorkspace(workspace, 'fifo.yml', limit))).toEqual({
      code: 'type',
      reason: 'is a FIFO (named pipe), not a regular file',
    });
    expect(failure(() => locateInWorkspace(workspace, '.github', limit)).reason).toBe(
      'is a directory, not a regular file',
    );
    expect(
      failure(() => locateInWorkspace(workspace, 'dangling.yml', { ...limit, mayBeMissing: true })).code,
    ).toBe('type');
    expect(failure(() => locateInWorkspace(workspace, 'big.yml', limit))).toEqual({
      code: 'size',
      reason: 'is larger than 0.001024 MB',
    });
    // Read directly, a FIFO is refused at once (never opened blocking).
    expect(failure(() => readRegularFileSync(path.join(real, 'fifo.yml'), 1024)).code).toBe('type');
  });

  it('accepts a file that does not exist yet when its folder is inside, and says when it is missing', () => {
    const { real, workspace } = layout();
    expect(locateInWorkspace(workspace, 'state/new/ledger.json', { ...limit, mayBeMissing: true })).toEqual({
      file: path.join(real, 'state', 'new', 'ledger.json'),
      exists: false,
    });
    expect(failure(() => locateInWorkspace(workspace, 'missing.yml', limit))).toEqual({
      code: 'missing',
      reason: 'does not exist in the workspace',
    });
  });
});

describe('readRegularFile', () => {
  it('reads a regular file, says undefined for a missing one and refuses a FIFO without blocking', async () => {
    const { real } = layout();
    expect(await readRegularFile(path.join(real, '.github', 'rules.yml'), 1024)).toBe('rules: []\n');
    expect(await readRegularFile(path.join(real, 'none.json'), 1024)).toBeUndefined();
    execFileSync('mkfifo', [path.join(real, 'ledger.json')]);
    await expect(readRegularFile(path.join(real, 'ledger.json'), 1024)).rejects.toThrow(/FIFO/);
    writeFileSync(path.join(real, 'big.json'), 'x'.repeat(2000));
    await expect(readRegularFile(path.join(real, 'big.json'), 1024)).rejects.toThrow(/larger than/);
  });
});

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeZip } from '../test/fakes/downloads.mjs';
import { extractSdm, zipEntryProblem } from './sdm-zip.js';

describe('zipEntryProblem', () => {
  const symlink = ((0o120000 | 0o777) << 16) >>> 0;
  const file = ((0o100000 | 0o755) << 16) >>> 0;
  it('accepts plain names, folders and regular files', () => {
    for (const name of ['sdm', 'docs/README.txt', 'a/b/', 'sdm..old', '..hidden'])
      expect(zipEntryProblem(name, file), name).toBeUndefined();
  });
  it('refuses absolute names, ".." steps, backslashes and symbolic links', () => {
    expect(zipEntryProblem('/etc/cron.d/x')).toBe('entry "/etc/cron.d/x" is an absolute path');
    expect(zipEntryProblem('C:/x')).toMatch(/absolute path/);
    expect(zipEntryProblem('../evil')).toBe(
      'entry "../evil" leads outside the folder it is unzipped into ("..")',
    );
    expect(zipEntryProblem('a/../../evil')).toMatch(/leads outside/);
    expect(zipEntryProblem('..\\evil')).toMatch(/backslash/);
    expect(zipEntryProblem('sdm', symlink)).toBe('entry "sdm" is a symbolic link');
  });
  it('shows a hostile name on one line', () => {
    expect(zipEntryProblem('/x\n::error::y')).not.toMatch(/\n/);
  });
});

describe('extractSdm', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sdm-install-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const zipOf = async (entries: Parameters<typeof makeZip>[0]) => {
    const file = path.join(dir, 'sdm.zip');
    await writeFile(file, makeZip(entries));
    return file;
  };
  const sdm = { name: 'sdm', data: Buffer.from('#!/bin/sh\necho sdm\n'), mode: 0o700 };

  it('unzips only the root sdm, executable, in this process', async () => {
    const zip = await zipOf([
      sdm,
      { name: 'README', data: Buffer.from('x') },
      { name: 'bin/sdm', data: Buffer.from('y') },
    ]);
    const binary = await extractSdm(zip, path.join(dir, 'out'), '46.0.0');
    expect(binary).toBe(path.join(dir, 'out', 'sdm'));
    expect(await readFile(binary, 'utf8')).toBe('#!/bin/sh\necho sdm\n');
    expect((await stat(binary)).mode & 0o777).toBe(0o755);
    await expect(stat(path.join(dir, 'out', 'README'))).rejects.toThrow();
  });

  it.each([
    ['../evil', { name: '../evil', data: Buffer.from('x') }, /entry "\.\.\/evil" leads outside the folder/],
    [
      'an absolute path',
      { name: '/tmp/evil', data: Buffer.from('x') },
      /entry "\/tmp\/evil" is an absolute path/,
    ],
    ['a backslash', { name: '..\\evil', data: Buffer.from('x') }, /has a backslash in its name/],
    [
      'a symbolic link',
      { name: 'link', data: Buffer.from('/etc/passwd'), symlink: true },
      /entry "link" is a symbolic link/,
    ],
  ])('refuses a zip holding %s anywhere, writing nothing', async (_what, bad, message) => {
    for (const entries of [
      [sdm, bad],
      [bad, sdm],
    ]) {
      const out = path.join(dir, 'out');
      await expect(extractSdm(await zipOf(entries), out, '46.0.0')).rejects.toThrow(message);
      await expect(extractSdm(await zipOf(entries), out, '46.0.0')).rejects.toThrow(
        /^the sdm 46\.0\.0 zip was refused: .*; nothing was run$/,
      );
      await expect(stat(out)).rejects.toThrow();
    }
  });

  it('refuses an sdm that is itself a symbolic link', async () => {
    const zip = await zipOf([{ name: 'sdm', data: Buffer.from('/bin/sh'), symlink: true }]);
    await expect(extractSdm(zip, path.join(dir, 'out'), '46.0.0')).rejects.toThrow(
      /"sdm" is a symbolic link/,
    );
  });

  it('refuses an sdm larger than the cap, and a header that lies about the size', async () => {
    const big = { name: 'sdm', data: Buffer.alloc(4096, 0x61) };
    await expect(extractSdm(await zipOf([big]), path.join(dir, 'a'), '46.0.0', 1024)).rejects.toThrow(
      /"sdm" would unzip to 4096 bytes, more than the 1024 allowed/,
    );
    const lying = makeZip([big]);
    const central = lying.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    lying.writeUInt32LE(100, 22); // local header: uncompressed size
    lying.writeUInt32LE(100, central + 24); // central directory: uncompressed size
    const file = path.join(dir, 'lying.zip');
    await writeFile(file, lying);
    await expect(extractSdm(file, path.join(dir, 'b'), '46.0.0', 1024)).rejects.toThrow(
      /^the sdm 46\.0\.0 zip (could not be unzipped|was refused)/,
    );
  });

  it('explains a zip without sdm, two of them, and garbage', async () => {
    await expect(
      extractSdm(await zipOf([{ name: 'other', data: Buffer.from('x') }]), path.join(dir, 'a'), '46.0.0'),
    ).rejects.toThrow('the sdm 46.0.0 zip has no "sdm" file at its root');
    await expect(extractSdm(await zipOf([sdm, sdm]), path.join(dir, 'b'), '46.0.0')).rejects.toThrow(
      /holds "sdm" more than once/,
    );
    const garbage = path.join(dir, 'garbage.zip');
    await writeFile(garbage, 'not a zip\n'.repeat(50));
    await expect(extractSdm(garbage, path.join(dir, 'c'), '46.0.0')).rejects.toThrow(
      /^the sdm 46\.0\.0 zip could not be unzipped \(/,
    );
  });
});

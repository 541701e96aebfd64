// npm warns EBADENGINE when an installed package wants a newer Node than the one running npm. This keeps package.json's
// `engines` honest: every Node release it admits must satisfy every package `npm ci` installs.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const semver = require('semver') as { subset(sub: string, dom: string): boolean };

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
}
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, LockEntry>;
};
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string };
};

describe('engines', () => {
  it("admits only Node releases that every installed package's engines.node accepts", () => {
    const refusing = Object.entries(lock.packages)
      .filter(([where]) => where !== '')
      .flatMap(([where, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return range && !semver.subset(pkg.engines.node, range)
          ? [`${where}@${entry.version}: ${range}`]
          : [];
      });
    expect(refusing).toEqual([]);
  });

  it('agrees with the lock file', () => {
    expect((lock.packages[''] as { engines?: { node?: string } }).engines?.node).toBe(pkg.engines.node);
  });
});

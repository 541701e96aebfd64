// Attacks on the sdm download, end to end (issue 9, "Downloads fail closed" and "Helpers get no secrets"): a
// booby-trapped `unzip` on PATH, an unverifiable zip, a binary planted in the tool cache, an https address that
// hands over to plain http, and hostile zip entries. Each is a scenario counted in the suite's tally.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeZip } from '../fakes/downloads.mjs';
import { runChecked, worlds, type ActionRun, type World } from './harness.js';
import { runScenario } from './invariants.js';

const { start } = worlds({ 'request-timeout': '2s', 'sdm-timeout': '3s' });

const errorLine = (run: ActionRun) => /^::error::(.*)$/m.exec(run.stdout)?.[1] ?? '';
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The same world, but every run gets `env` too (runScenario takes no environment of its own). */
function withEnv(world: World, env: Record<string, string>): World {
  const wrapped = Object.create(world) as World;
  wrapped.run = (inputs, onSpawn, more = {}) => world.run(inputs, onSpawn, { ...env, ...more });
  return wrapped;
}

/** A script that, if it is ever run, leaves `marker` behind with its arguments and environment. */
async function trap(file: string, marker: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `#!/bin/sh\n{ echo "argv: $*"; env; } >> ${sh(marker)}\nexit 0\n`);
  await chmod(file, 0o755);
}

/** Plants `sdm` (and optionally sdm.zip) in the tool cache the way tc.cacheDir lays a version out. */
async function plantInToolCache(world: World, version: string, marker: string, zip?: Buffer): Promise<void> {
  const dir = path.join(world.toolCache, 'sdm', version, 'x64');
  await trap(path.join(dir, 'sdm'), marker);
  if (zip) await writeFile(path.join(dir, 'sdm.zip'), zip);
  await writeFile(`${dir}.complete`, '');
}

describe('download attacks', () => {
  it('a booby-trapped unzip first on PATH is never run, on a download or a cache hit', async ({ task }) => {
    const { world, inputs } = await start();
    const marker = path.join(world.dir, 'unzip-ran');
    const trapDir = path.join(world.dir, 'trap-bin');
    await trap(path.join(trapDir, 'unzip'), marker);
    const trapped = withEnv(world, { PATH: `${trapDir}:${process.env.PATH ?? '/usr/bin:/bin'}` });

    const run = await runScenario(task, trapped, inputs, 0);
    expect(run.outputs.granted).toBe('16');
    const cached = await runChecked(trapped, inputs);
    expect(cached.exitCode).toBe(0);
    expect(cached.stdout).toContain(
      'sdm 46.0.0 found in the tool cache; its zip matches the SHA-256 strongDM publishes',
    );
    expect(world.downloads.counts.zip).toBe(1);
    expect(existsSync(marker), existsSync(marker) ? await readFile(marker, 'utf8') : '').toBe(false);
  });

  it('a zip nothing could verify is refused before anything runs; sdm-checksum-url: none uses it', async ({
    task,
  }) => {
    const { world, inputs } = await start();
    world.downloads.faults.push({ path: '/sha', status: 404, times: 100 });
    const refused = await runScenario(task, world, inputs, 1);
    expect(errorLine(refused)).toMatch(
      /^the downloaded sdm 46\.0\.0 zip could not be verified \(sdm-sha256 is not set and sdm-checksum-url answered HTTP 404\); nothing was run\. Fix either: pin sdm-sha256 to the zip's SHA-256 \(sha256sum .*make sdm-checksum-url answer/,
    );
    expect((await world.sdmState()).invocations).toEqual([]);
    expect(existsSync(path.join(world.toolCache, 'sdm'))).toBe(false);

    const optedOut = await runChecked(world, { ...inputs, 'sdm-checksum-url': 'none' });
    expect(optedOut.exitCode).toBe(0);
    expect(optedOut.stdout).toMatch(
      /^::warning::sdm 46\.0\.0 \(SHA-256 [0-9a-f]{64}\) is not verified: sdm-checksum-url is none and sdm-sha256 is not set\. It is used for this run only, not cached/m,
    );
    expect(optedOut.outputs.granted).toBe('16');
    expect(existsSync(path.join(world.toolCache, 'sdm'))).toBe(false);
  });

  it('a binary planted in the tool cache beside a zip that does not match the published checksum never runs', async ({
    task,
  }) => {
    const { world, inputs } = await start();
    const marker = path.join(world.dir, 'planted-ran');
    const evilZip = makeZip([
      { name: 'sdm', data: Buffer.from(`#!/bin/sh\necho zipped >> ${sh(marker)}\n`), mode: 0o755 },
    ]);
    await plantInToolCache(world, '46.0.0', marker, evilZip);

    const run = await runScenario(task, world, inputs, 0);
    expect(run.stdout).toContain(
      '::warning::The cached sdm 46.0.0 does not match the SHA-256 strongDM publishes; downloading it again.',
    );
    expect(run.outputs.granted).toBe('16');
    expect(world.downloads.counts.zip).toBe(1);
    expect(existsSync(marker)).toBe(false);

    // The verified download replaced the planted entry; the next hit is verified again and runs a fresh copy.
    const next = await runChecked(world, { ...inputs, 'sdm-version': '46.0.0' });
    expect(next.stdout).toContain(
      'sdm 46.0.0 found in the tool cache; its zip matches the SHA-256 strongDM publishes',
    );
    expect(world.downloads.counts.zip).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });

  it('a planted binary without a zip is ignored when nothing can verify it, and nothing runs', async ({
    task,
  }) => {
    const { world, inputs } = await start();
    const marker = path.join(world.dir, 'planted-ran');
    await plantInToolCache(world, '46.0.0', marker);
    world.downloads.faults.push({ path: '/sha', status: 503, times: 100 });
    const run = await runScenario(
      task,
      world,
      { ...inputs, 'sdm-version': '46.0.0', 'time-budget': '10s' },
      1,
    );
    expect(run.stdout).toMatch(/sdm 46\.0\.0 is in the tool cache, but cannot be verified .*; not using it/);
    expect(errorLine(run)).toMatch(/^the downloaded sdm 46\.0\.0 zip could not be verified/);
    expect((await world.sdmState()).invocations).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });

  it('an https download address that redirects to plain http (even loopback) is refused', async ({
    task,
  }) => {
    const { world, inputs } = await start();
    const tls = await startTlsFront(world);
    try {
      const secured = withEnv(world, { NODE_EXTRA_CA_CERTS: tls.certFile });
      // The control: https all the way works, so the refusal below is about the downgrade, not about TLS.
      const control = await runChecked(secured, {
        ...inputs,
        'sdm-download-url': `${tls.url}/secure/latest`,
      });
      expect(control.exitCode, control.stdout).toBe(0);

      const run = await runScenario(
        task,
        secured,
        { ...inputs, 'sdm-version': '46.1.0', 'sdm-download-url': `${tls.url}/releases/cli/linux` },
        1,
      );
      expect(errorLine(run)).toMatch(
        /^strongDM pointed sdm from https to plain http \(http:\/\/127\.0\.0\.1:\d+\/builds\/.*\.zip\); refusing it/,
      );
      const redirected = await runChecked(secured, {
        ...inputs,
        'sdm-download-url': `${tls.url}/downgrade/latest`,
      });
      expect(errorLine(redirected)).toMatch(
        /^the sdm download redirected from https to plain http \(http:\/\/127\.0\.0\.1:\d+\/builds\/.*\.zip\); refusing it/,
      );
      expect(world.downloads.counts.zip).toBe(0); // the control's zip came over https from the front
    } finally {
      await tls.close();
    }
  });

  it.for([
    [
      'a "../evil" entry',
      { name: '../evil', data: Buffer.from('owned\n') },
      /entry "\.\.\/evil" leads outside/,
    ],
    [
      'a symbolic link',
      { name: 'lib', data: Buffer.from('/etc'), mode: 0o777, symlink: true },
      /entry "lib" is a symbolic link/,
    ],
  ] as const)(
    'a published zip holding %s is refused and nothing runs',
    async ([, entry, message], { task }) => {
      const { world, inputs } = await start();
      const marker = path.join(world.dir, 'zipped-ran');
      // Published with its checksum, as if the vendor (or whoever answers sdm-checksum-url) had shipped it.
      world.downloads.replaceZip(
        '46.0.0',
        makeZip([
          { name: 'sdm', data: Buffer.from(`#!/bin/sh\necho ran >> ${sh(marker)}\n`), mode: 0o755 },
          entry,
        ]),
      );
      const run = await runScenario(task, world, inputs, 1);
      expect(errorLine(run)).toMatch(/^the sdm 46\.0\.0 zip was refused: /);
      expect(errorLine(run)).toMatch(message);
      expect(errorLine(run)).toMatch(/; nothing was run$/);
      expect((await world.sdmState()).invocations).toEqual([]);
      expect(existsSync(marker)).toBe(false);
      const written = readdirSync(world.dir, { recursive: true }).map((name) => path.basename(String(name)));
      expect(written).not.toContain('evil');
      expect(written).not.toContain('lib');
      expect(existsSync(path.join(world.toolCache, 'sdm'))).toBe(false);
    },
  );
});

/**
 * An https front on loopback with a self-signed certificate the action is told to trust (NODE_EXTRA_CA_CERTS):
 *   /secure/latest    -> 307 to /secure/sdmcli_46.0.0_linux_amd64.zip, served over https (the control)
 *   /downgrade/latest -> 307 to the fake site's plain-http zip
 *   /releases/upgrade -> {"url": the fake site's plain-http zip for the version}
 */
async function startTlsFront(world: World) {
  const certFile = path.join(world.dir, 'tls-cert.pem');
  const keyFile = path.join(world.dir, 'tls-key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  const build = world.downloads.builds.get('46.0.0');
  const v461 = await world.downloads.addVersion('46.1.0');
  if (!build) throw new Error('no 46.0.0 build');
  const server = https.createServer(
    { key: await readFile(keyFile), cert: await readFile(certFile) },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      if (url.pathname === '/secure/latest') {
        res.writeHead(307, { location: '/secure/sdmcli_46.0.0_linux_amd64.zip' }).end();
      } else if (url.pathname === '/secure/sdmcli_46.0.0_linux_amd64.zip') {
        res.writeHead(200, { 'content-type': 'application/zip' }).end(build.bytes);
      } else if (url.pathname === '/downgrade/latest') {
        res.writeHead(307, { location: build.zipUrl }).end();
      } else if (url.pathname === '/releases/upgrade') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: v461.zipUrl }));
      } else {
        res.writeHead(404).end();
      }
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    certFile,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

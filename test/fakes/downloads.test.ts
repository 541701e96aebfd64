// Tests of the fake strongDM download site and its zip builder (downloads.mjs).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readSdmState, updateSdmState } from './sdm-state.mjs';
import { buildSdmZip, makeZip, startFakeSdmDownloads } from './downloads.mjs';
import {
  at,
  FAKES_DIR,
  grantArgs,
  HOUR,
  SDM,
  sdm,
  statePath,
  tmp,
  UNZIP,
  useSeededSdmState,
} from './sdm-testing.js';

useSeededSdmState();

describe('fake sdm zip', () => {
  it('is a valid zip holding one executable `sdm` wrapper that runs the fake with arguments intact', async () => {
    const { zipPath, sha256 } = await buildSdmZip({ version: '47.2.0', outDir: path.join(tmp, 'zip') });
    expect(path.basename(zipPath)).toBe('sdmcli_47.2.0_linux_amd64.zip');
    expect(sha256).toBe(crypto.createHash('sha256').update(fs.readFileSync(zipPath)).digest('hex'));
    const t = spawnSync(UNZIP, ['-t', zipPath], { encoding: 'utf8' });
    expect(t.status).toBe(0);
    const listing = spawnSync(UNZIP, ['-Z1', zipPath], { encoding: 'utf8' });
    expect(listing.stdout.trim().split('\n')).toEqual(['sdm']);
    const zinfo = spawnSync(UNZIP, ['-Z', zipPath], { encoding: 'utf8' });
    expect(zinfo.stdout).toMatch(/-rwxr-xr-x\s.*\bunx\b.*\ssdm\n/);

    const dest = path.join(tmp, 'extracted');
    expect(spawnSync(UNZIP, ['-q', '-o', zipPath, '-d', dest]).status).toBe(0);
    const bin = path.join(dest, 'sdm');
    expect(fs.statSync(bin).mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(bin, 'utf8')).toBe(
      `#!/bin/sh\n# fake strongDM sdm CLI 47.2.0\nFAKE_SDM_BINARY_VERSION='47.2.0'\nexport FAKE_SDM_BINARY_VERSION\n` +
        `exec '${process.execPath}' '${SDM}' "$@"\n`,
    );

    // the binary reports the version of its zip; run directly, the fake reports state.version (46.0.0)
    const v = sdm(['--version'], { bin, token: null });
    expect(v.code).toBe(0);
    expect(v.stdout.split(/\s+/)[2]).toBe('47.2.0');
    expect(sdm(['--version']).stdout.split(/\s+/)[2]).toBe('46.0.0');
    expect(readSdmState(statePath).invocations.map((i) => i.binaryVersion)).toEqual(['47.2.0', undefined]);
    updateSdmState(statePath, (s) => {
      s.resources.push({ id: 'rs-q', name: `it's a "db" $HOME`, kind: 'datasource' });
    });
    const args = grantArgs(`it's a "db" $HOME`, 'bob@example.com', at(0), at(HOUR));
    const g = sdm(args, { bin });
    expect(g.stderr).toBe('');
    expect(g.code).toBe(0);
    const s = readSdmState(statePath);
    expect(s.invocations.at(-1)?.argv).toEqual(args);
    expect(s.grants[0]?.resourceId).toBe('rs-q');
    expect(sdm(['admin', 'users', 'list', '--json'], { bin, token: 'bad-token' }).code).toBe(1);
  });

  it('quotes awkward node and script paths safely', async () => {
    const weird = path.join(tmp, `dir with 'quote' and $x`);
    fs.mkdirSync(weird);
    for (const f of ['sdm.mjs', 'sdm-state.mjs', 'faults.mjs'])
      fs.copyFileSync(path.join(FAKES_DIR, f), path.join(weird, f));
    const nodeLink = path.join(weird, `no'de`);
    fs.symlinkSync(process.execPath, nodeLink);
    const { zipPath } = await buildSdmZip({
      version: '47.0.1',
      nodePath: nodeLink,
      sdmScript: path.join(weird, 'sdm.mjs'),
      outDir: weird,
    });
    const dest = path.join(tmp, 'x2');
    expect(spawnSync(UNZIP, ['-q', zipPath, '-d', dest]).status).toBe(0);
    const r = sdm(['--version'], { bin: path.join(dest, 'sdm') });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('fake sdm download site', () => {
  let site: Awaited<ReturnType<typeof startFakeSdmDownloads>>;
  beforeEach(async () => {
    site = await startFakeSdmDownloads({ outDir: path.join(tmp, 'site') });
  });
  afterEach(async () => {
    await site.close();
  });

  const q = (v: string) => `os=linux&arch=amd64&software=sdm-cli&version=${v}`;
  const sha = (b: ArrayBuffer) => crypto.createHash('sha256').update(Buffer.from(b)).digest('hex');

  it('latest answers 307 with an absolute Location to the versioned zip', async () => {
    expect(site.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(site.latestUrl).toBe(`${site.url}/releases/cli/linux`);
    expect(site.zipUrl).toMatch(
      new RegExp(
        `^${site.url}/builds/sdm-cli/46\\.0\\.0/linux-amd64/[0-9a-f]{40}/sdmcli_46\\.0\\.0_linux_amd64\\.zip$`,
      ),
    );
    const r = await fetch(site.latestUrl, { redirect: 'manual' });
    expect(r.status).toBe(307);
    expect(r.headers.get('location')).toBe(site.zipUrl);
    expect(site.counts).toEqual({ latest: 1, zip: 0, upgrade: 0, sha: 0 });
  });

  it('serves the zip (counted per GET), whose sha256 matches and which unzips', async () => {
    const r = await fetch(site.latestUrl); // follows the redirect
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/zip');
    const body = await r.arrayBuffer();
    expect(sha(body)).toBe(site.sha256);
    expect(site.counts).toEqual({ latest: 1, zip: 1, upgrade: 0, sha: 0 });
    const file = path.join(tmp, 'dl.zip');
    fs.writeFileSync(file, Buffer.from(body));
    expect(spawnSync(UNZIP, ['-t', file]).status).toBe(0);
    expect(site.requests.map((x) => x.method + ' ' + x.path)).toEqual([
      'GET /releases/cli/linux',
      `GET ${new URL(site.zipUrl).pathname}`,
    ]);
  });

  it('answers HEAD without a body and without counting a zip download', async () => {
    const h = await fetch(site.zipUrl, { method: 'HEAD' });
    expect(h.status).toBe(200);
    expect(Number(h.headers.get('content-length'))).toBe(
      fs.statSync(site.builds.get('46.0.0')!.zipPath).size,
    );
    expect((await h.arrayBuffer()).byteLength).toBe(0);
    const l = await fetch(site.latestUrl, { method: 'HEAD', redirect: 'manual' });
    expect(l.status).toBe(307);
    expect(l.headers.get('location')).toBe(site.zipUrl);
    expect(site.counts.zip).toBe(0);
    expect(site.counts.latest).toBe(1);
  });

  it('resolves versions via /releases/upgrade and publishes checksums via /sha', async () => {
    const u = await fetch(`${site.url}/releases/upgrade?${q('46.0.0')}`);
    expect(u.status).toBe(200);
    expect(await u.json()).toEqual({ url: site.zipUrl });
    const s = await fetch(`${site.url}/sha?${q('46.0.0')}`);
    expect(s.status).toBe(200);
    const text = await s.text();
    expect(text.match(/\b[0-9a-f]{64}\b/)?.[0]).toBe(site.sha256);
    const zipBody = await (await fetch(site.zipUrl)).arrayBuffer();
    expect(sha(zipBody)).toBe(text.match(/\b[0-9a-f]{64}\b/)?.[0]);
    expect((await fetch(`${site.url}/releases/upgrade?${q('9.9.9')}`)).status).toBe(404);
    expect((await fetch(`${site.url}/sha?${q('9.9.9')}`)).status).toBe(404);
    expect((await fetch(`${site.url}/sha?os=darwin&arch=amd64&software=sdm-cli&version=46.0.0`)).status).toBe(
      400,
    );
    expect((await fetch(`${site.url}/releases/upgrade?os=linux&arch=amd64&software=sdm-cli`)).status).toBe(
      400,
    );
    expect(site.counts).toEqual({ latest: 0, zip: 1, upgrade: 3, sha: 3 });
  });

  it('setVersion moves latest to a new zip with an unguessable path; old versions stay resolvable', async () => {
    const oldUrl = site.zipUrl;
    const oldSha = site.sha256;
    await site.setVersion('47.1.0');
    expect(site.zipUrl).not.toBe(oldUrl);
    expect(site.zipUrl).toContain('/sdm-cli/47.1.0/');
    expect(site.zipUrl.split('/').at(-2)).not.toBe(oldUrl.split('/').at(-2));
    const r = await fetch(site.latestUrl, { redirect: 'manual' });
    expect(r.headers.get('location')).toBe(site.zipUrl);
    expect(await (await fetch(`${site.url}/releases/upgrade?${q('46.0.0')}`)).json()).toEqual({
      url: oldUrl,
    });
    const s = await (await fetch(`${site.url}/sha?${q('47.1.0')}`)).text();
    expect(s).toContain(site.sha256);
    expect(site.sha256).not.toBe(oldSha);
    // a made-up hex segment for a known version is not served
    const forged = oldUrl.replace(/\/[0-9a-f]{40}\//, `/${'0'.repeat(40)}/`);
    expect((await fetch(forged)).status).toBe(404);
    expect((await fetch(`${site.url}/nope`)).status).toBe(404);
    expect((await fetch(site.latestUrl, { method: 'POST', redirect: 'manual' })).status).toBe(405);
  });

  it('injects HTTP faults by path prefix, `times` then normal service', async () => {
    site.faults.push({ path: '/releases/cli/linux', status: 503, times: 2 });
    site.faults.push({ path: '/builds/', status: 500, body: 'nope' });
    expect((await fetch(site.latestUrl, { redirect: 'manual' })).status).toBe(503);
    expect((await fetch(site.latestUrl, { redirect: 'manual' })).status).toBe(503);
    expect((await fetch(site.latestUrl, { redirect: 'manual' })).status).toBe(307);
    const z = await fetch(site.zipUrl);
    expect(z.status).toBe(500);
    expect(await z.text()).toBe('nope');
    expect((await fetch(site.zipUrl)).status).toBe(200);
    expect(site.faults).toEqual([]);
    expect(site.counts).toEqual({ latest: 3, zip: 2, upgrade: 0, sha: 0 });
    site.faults.push({ path: '/sha', status: 0 });
    await expect(fetch(`${site.url}/sha?${q('46.0.0')}`)).rejects.toThrow();
  });

  it('corruptZip serves garbage that fails the checksum and unzip', async () => {
    site.corruptZip = true;
    const body = await (await fetch(site.zipUrl)).arrayBuffer();
    expect(sha(body)).not.toBe(site.sha256);
    const file = path.join(tmp, 'bad.zip');
    fs.writeFileSync(file, Buffer.from(body));
    expect(spawnSync(UNZIP, ['-t', file], { stdio: 'ignore' }).status).not.toBe(0);
    site.corruptZip = false;
    expect(sha(await (await fetch(site.zipUrl)).arrayBuffer())).toBe(site.sha256);
  });

  it('replaceZip serves a crafted zip for a version and publishes its SHA-256', async () => {
    const crafted = makeZip([
      { name: 'sdm', data: Buffer.from('#!/bin/sh\n') },
      { name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o777, symlink: true },
      { name: '../evil', data: Buffer.from('x') },
    ]);
    site.replaceZip('46.0.0', crafted);
    const body = Buffer.from(await (await fetch(site.zipUrl)).arrayBuffer());
    expect(body.equals(crafted)).toBe(true);
    expect(site.sha256).toBe(crypto.createHash('sha256').update(body).digest('hex'));
    expect(await (await fetch(`${site.url}/sha?${q('46.0.0')}`)).text()).toContain(site.sha256);
    const file = path.join(tmp, 'crafted.zip');
    fs.writeFileSync(file, body);
    const listing = spawnSync(UNZIP, ['-Z', file], { encoding: 'utf8' }).stdout;
    expect(listing).toMatch(/^l\S+ .* link$/m); // a symbolic link entry
    expect(listing).toMatch(/^-\S+ .* \.\.\/evil$/m);
    expect(() => site.replaceZip('9.9.9', crafted)).toThrow(/unknown version/);
  });

  it('close() stops the server', async () => {
    const url = site.latestUrl;
    await site.close();
    await expect(fetch(url, { redirect: 'manual' })).rejects.toThrow();
    site = await startFakeSdmDownloads({ outDir: path.join(tmp, 'site2') }); // for afterEach
  });
});

// Fake strongDM download site for the `sdm` CLI, plus a pure-JavaScript zip builder.
//
// Endpoints (mirroring app.strongdm.com / downloads.strongdm.com, see docs/strongdm-cli.md):
//   GET|HEAD /releases/cli/linux                  -> 307, Location: absolute URL of the current version's zip
//   GET|HEAD /builds/sdm-cli/<v>/linux-amd64/<40 hex>/sdmcli_<v>_linux_amd64.zip -> the zip (application/zip)
//   GET|HEAD /releases/upgrade?os=linux&arch=amd64&software=sdm-cli&version=<v> -> {"url": <zip URL>}
//   GET|HEAD /sha?os=linux&arch=amd64&software=sdm-cli&version=<v> -> text with the zip's 64-hex SHA-256
// Unknown versions answer 404, wrong/missing query parameters 400, other paths 404, other methods 405.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { takeFault } from './faults.mjs';
import { listenOnLoopback } from './http.mjs';

/** Absolute path of the fake CLI program. */
export const fakeSdmScript = fileURLToPath(new URL('./sdm.mjs', import.meta.url));

/** @param {string} s POSIX-shell single-quoted */
export function shQuote(s) {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `sdm` executable placed in the zip: a POSIX shell wrapper running the fake with node. With a version,
 * it exports FAKE_SDM_BINARY_VERSION so that `sdm --version` reports the version of the zip it came from
 * (and two versions' zips differ, like real builds).
 * @param {string} nodePath
 * @param {string} sdmScript
 * @param {string} [version]
 */
export function sdmWrapperScript(nodePath, sdmScript, version) {
  const v =
    version === undefined
      ? ''
      : `# fake strongDM sdm CLI ${version}\nFAKE_SDM_BINARY_VERSION=${shQuote(version)}\nexport FAKE_SDM_BINARY_VERSION\n`;
  return `#!/bin/sh\n${v}exec ${shQuote(nodePath)} ${shQuote(sdmScript)} "$@"\n`;
}

/**
 * A minimal zip writer (one or more entries, DEFLATE, Unix mode in the external attributes). Names are written as
 * given, so hostile zips can be built too: "../evil", "/abs", and `symlink: true` (S_IFLNK; data is the target).
 * @param {Array<{ name: string, data: Buffer, mode?: number, symlink?: boolean }>} entries
 * @returns {Buffer}
 */
export function makeZip(entries) {
  const dosTime = 0; // 00:00:00
  const dosDate = ((2024 - 1980) << 9) | (1 << 5) | 1; // 2024-01-01
  /** @type {Buffer[]} */
  const locals = [];
  /** @type {Buffer[]} */
  const centrals = [];
  let offset = 0;
  for (const { name, data, mode = 0o755, symlink = false } of entries) {
    const nameBuf = Buffer.from(name, 'utf8');
    const compressed = zlib.deflateRawSync(data);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); // local file header signature
    local.writeUInt16LE(20, 4); // version needed to extract (2.0)
    local.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
    local.writeUInt16LE(8, 8); // method: deflate
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(0, 28); // extra field length
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); // central directory header signature
    central.writeUInt16LE((3 << 8) | 20, 4); // version made by: Unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk number start
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE((((symlink ? 0o120000 : 0o100000) | mode) << 16) >>> 0, 38); // S_IFREG/S_IFLNK | mode
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, compressed);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + compressed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); // end of central directory signature
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, cd, end]);
}

/**
 * Builds `sdmcli_<version>_linux_amd64.zip` in outDir holding one file `sdm` (mode 0755) at its root: by default
 * sdmWrapperScript(nodePath, sdmScript, version); with `wrapper`, the text wrapper(version) instead (e.g. the bash
 * client of the served fake, sdmClientScript in sdm-server.mjs).
 * @param {{ version: string, nodePath?: string, sdmScript?: string, wrapper?: (version: string) => string, outDir: string }} opts
 * @returns {Promise<{ zipPath: string, sha256: string }>}
 */
export async function buildSdmZip({
  version,
  nodePath = process.execPath,
  sdmScript = fakeSdmScript,
  wrapper = (v) => sdmWrapperScript(nodePath, sdmScript, v),
  outDir,
}) {
  if (!/^[0-9A-Za-z.+-]+$/.test(version))
    throw new Error(`buildSdmZip: bad version ${JSON.stringify(version)}`);
  const zip = makeZip([{ name: 'sdm', data: Buffer.from(wrapper(version)), mode: 0o755 }]);
  await fsp.mkdir(outDir, { recursive: true });
  const zipPath = path.join(outDir, `sdmcli_${version}_linux_amd64.zip`);
  await fsp.writeFile(zipPath, zip);
  return { zipPath, sha256: crypto.createHash('sha256').update(zip).digest('hex') };
}

/**
 * @typedef {{ path: string, status: number, body?: string, headers?: Record<string, string>, times?: number }} DownloadFault
 *   `path` is a prefix of the request path+query; status 0 destroys the connection without an answer.
 * @typedef {{ version: string, hex: string, zipPath: string, sha256: string, zipUrl: string, bytes: Buffer }} SdmBuild
 * @typedef {{
 *   url: string, latestUrl: string, version: string, zipUrl: string, sha256: string,
 *   counts: { latest: number, zip: number, upgrade: number, sha: number },
 *   requests: Array<{ method: string, path: string }>,
 *   faults: DownloadFault[],
 *   corruptZip: boolean,
 *   builds: Map<string, SdmBuild>,
 *   addVersion(v: string): Promise<SdmBuild>,
 *   setVersion(v: string): Promise<SdmBuild>,
 *   replaceZip(v: string, bytes: Buffer): SdmBuild,
 *   close(): Promise<void>,
 * }} FakeSdmDownloads
 */

const GARBAGE = Buffer.from('this is not a zip archive; the download was corrupted\n'.repeat(40));

/**
 * Starts the fake download site on a loopback port chosen by the OS. `wrapper` (see buildSdmZip) replaces the
 * node wrapper in every zip it builds.
 * @param {{ version?: string, nodePath?: string, sdmScript?: string, wrapper?: (version: string) => string, outDir?: string, host?: string }} [opts]
 * @returns {Promise<FakeSdmDownloads>}
 */
export async function startFakeSdmDownloads(opts = {}) {
  const {
    version = '46.0.0',
    nodePath = process.execPath,
    sdmScript = fakeSdmScript,
    wrapper,
    host = '127.0.0.1',
  } = opts;
  const ownDir = opts.outDir === undefined;
  const outDir = opts.outDir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'fake-sdm-downloads-')));

  /** @type {Map<string, SdmBuild>} */
  const builds = new Map();
  const server = http.createServer((req, res) => handle(req, res));
  const listening = await listenOnLoopback(server, host);
  const base = listening.url;

  /** @param {string} v */
  async function addVersion(v) {
    const known = builds.get(v);
    if (known) return known;
    const hex = crypto.randomBytes(20).toString('hex');
    const dir = path.join(outDir, `${v}-${hex.slice(0, 8)}`);
    const { zipPath, sha256 } = await buildSdmZip({
      version: v,
      nodePath,
      sdmScript,
      ...(wrapper ? { wrapper } : {}),
      outDir: dir,
    });
    const build = {
      version: v,
      hex,
      zipPath,
      sha256,
      zipUrl: `${base}/builds/sdm-cli/${v}/linux-amd64/${hex}/sdmcli_${v}_linux_amd64.zip`,
      bytes: fs.readFileSync(zipPath),
    };
    builds.set(v, build);
    return build;
  }

  /** @type {FakeSdmDownloads} */
  const site = {
    url: base,
    latestUrl: `${base}/releases/cli/linux`,
    version: '',
    zipUrl: '',
    sha256: '',
    counts: { latest: 0, zip: 0, upgrade: 0, sha: 0 },
    requests: [],
    faults: [],
    corruptZip: false,
    builds,
    addVersion,
    async setVersion(v) {
      const build = await addVersion(v);
      site.version = v;
      site.zipUrl = build.zipUrl;
      site.sha256 = build.sha256;
      return build;
    },
    // A crafted zip served for a known version, its SHA-256 published by /sha as if the vendor had shipped it.
    replaceZip(v, bytes) {
      const build = builds.get(v);
      if (!build) throw new Error(`replaceZip: unknown version ${v}`);
      build.bytes = bytes;
      build.sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
      if (site.version === v) site.sha256 = build.sha256;
      return build;
    },
    async close() {
      await listening.close();
      if (ownDir) await fsp.rm(outDir, { recursive: true, force: true });
    },
  };
  await site.setVersion(version);

  /**
   * @param {http.ServerResponse} res
   * @param {number} status
   * @param {string | Buffer} body
   * @param {Record<string, string>} headers
   * @param {boolean} head
   */
  function send(res, status, body, headers, head) {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { 'content-length': String(buf.length), ...headers });
    res.end(head ? undefined : buf);
  }

  /**
   * @param {URL} u
   * @returns {SdmBuild | string} the build, or an error text (prefixed with the status)
   */
  function buildFromQuery(u) {
    const q = u.searchParams;
    if (q.get('os') !== 'linux' || q.get('arch') !== 'amd64' || q.get('software') !== 'sdm-cli') {
      return '400 expected os=linux&arch=amd64&software=sdm-cli';
    }
    const v = q.get('version');
    if (!v) return '400 missing version';
    return builds.get(v) ?? `404 unknown version ${v}`;
  }

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  function handle(req, res) {
    const method = req.method ?? 'GET';
    const raw = req.url ?? '/';
    site.requests.push({ method, path: raw });
    const u = new URL(raw, base);
    const head = method === 'HEAD';
    const zipMatch =
      /^\/builds\/sdm-cli\/([^/]+)\/linux-amd64\/([0-9a-f]{40})\/sdmcli_([^/]+)_linux_amd64\.zip$/.exec(
        u.pathname,
      );
    /** @type {'latest' | 'zip' | 'upgrade' | 'sha' | undefined} */
    const endpoint =
      u.pathname === '/releases/cli/linux'
        ? 'latest'
        : zipMatch
          ? 'zip'
          : u.pathname === '/releases/upgrade'
            ? 'upgrade'
            : u.pathname === '/sha'
              ? 'sha'
              : undefined;
    if (endpoint && (endpoint !== 'zip' || method === 'GET')) site.counts[endpoint]++;

    const fault = takeFault(site.faults, (f) => raw.startsWith(f.path));
    if (fault) {
      if (fault.status === 0) {
        req.socket.destroy();
        return;
      }
      send(
        res,
        fault.status,
        fault.body ?? `fault injected: ${fault.status}\n`,
        { 'content-type': 'text/plain', ...fault.headers },
        head,
      );
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      send(res, 405, 'method not allowed\n', { 'content-type': 'text/plain', allow: 'GET, HEAD' }, head);
      return;
    }
    const text = { 'content-type': 'text/plain; charset=utf-8' };
    switch (endpoint) {
      case 'latest':
        send(res, 307, '', { location: site.zipUrl }, head);
        return;
      case 'zip': {
        const [, v, hex, v2] = /** @type {RegExpExecArray} */ (zipMatch);
        const build = builds.get(/** @type {string} */ (v));
        if (!build || build.hex !== hex || v2 !== v) {
          send(res, 404, 'not found\n', text, head);
          return;
        }
        send(res, 200, site.corruptZip ? GARBAGE : build.bytes, { 'content-type': 'application/zip' }, head);
        return;
      }
      case 'upgrade':
      case 'sha': {
        const build = buildFromQuery(u);
        if (typeof build === 'string') {
          send(res, Number(build.slice(0, 3)), `${build.slice(4)}\n`, text, head);
        } else if (endpoint === 'upgrade') {
          send(res, 200, JSON.stringify({ url: build.zipUrl }), { 'content-type': 'application/json' }, head);
        } else {
          send(res, 200, `${build.sha256}  sdmcli_${build.version}_linux_amd64.zip\n`, text, head);
        }
        return;
      }
      default:
        send(res, 404, 'not found\n', text, head);
    }
  }

  return site;
}

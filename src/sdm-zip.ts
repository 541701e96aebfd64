// The sdm zip on disk: its SHA-256, and unzipping the one `sdm` file in it, in this process.
// The zip is read in this process with yauzl, not with tc.extractZip: that runs whatever `unzip` comes first on
// PATH (an earlier step may have put one there) with the whole environment, INPUT_SDM-ADMIN-TOKEN included.
// yauzl: small (one dependency, pend), maintained since 2014, widely used (it is what extract-zip builds on),
// reads the central directory and streams one entry at a time (no whole-binary buffer), checks each entry's
// size against its header and refuses absolute and ".." names itself.
import yauzl from 'yauzl';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { forLogLine } from './text.js';

/** The largest `sdm` unzipped (today's is well under 100 MiB): a zip bomb cannot fill the runner's disk. */
export const MAX_SDM_BYTES = 512 * 1024 * 1024;

export class SdmInstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SdmInstallError';
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/**
 * Why a zip entry is refused, or undefined: an absolute name, a ".." step, a backslash (a separator on Windows) or
 * a symbolic link. Any such entry anywhere in the zip refuses the whole zip, even one that would not be unzipped.
 */
export function zipEntryProblem(name: string, externalFileAttributes = 0): string | undefined {
  const shown = JSON.stringify(forLogLine(name));
  if (name.includes('\\')) return `entry ${shown} has a backslash in its name`;
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) return `entry ${shown} is an absolute path`;
  if (name.split('/').includes('..'))
    return `entry ${shown} leads outside the folder it is unzipped into ("..")`;
  if (((externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) return `entry ${shown} is a symbolic link`;
  return undefined;
}

/** yauzl's own refusals of a file name, in the words of zipEntryProblem. */
function namedProblem(message: string): string | undefined {
  const name = /^(?:absolute path|invalid relative path|invalid characters in fileName): (.*)$/s.exec(
    message,
  )?.[1];
  return name === undefined ? undefined : zipEntryProblem(name);
}

/**
 * Unzips only the `sdm` file at the zip's root into `destDir` (created), in this process: no `unzip` program, no
 * child process. Every entry is checked first (zipEntryProblem); `sdm` must be one regular file of at most
 * `maxBytes`. Returns the binary's path, mode 0755.
 */
export async function extractSdm(
  zipPath: string,
  destDir: string,
  version: string,
  maxBytes = MAX_SDM_BYTES,
): Promise<string> {
  const refuse = (problem: string) =>
    new SdmInstallError(`the sdm ${version} zip was refused: ${problem}; nothing was run`);
  let zip: yauzl.ZipFile | undefined;
  try {
    zip = await openZip(zipPath);
    const entries = await readEntries(zip);
    for (const entry of entries) {
      const problem = zipEntryProblem(entry.fileName, entry.externalFileAttributes);
      if (problem) throw refuse(problem);
    }
    const found = entries.filter((entry) => entry.fileName === 'sdm');
    if (found.length === 0) throw new SdmInstallError(`the sdm ${version} zip has no "sdm" file at its root`);
    if (found.length > 1) throw refuse('it holds "sdm" more than once');
    const entry = found[0] as yauzl.Entry;
    if (entry.uncompressedSize > maxBytes) {
      throw refuse(`"sdm" would unzip to ${entry.uncompressedSize} bytes, more than the ${maxBytes} allowed`);
    }
    await mkdir(destDir, { recursive: true });
    const binary = path.join(destDir, 'sdm');
    let written = 0;
    const capped = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        written += chunk.length; // yauzl also checks the header's size; this holds even if it did not
        callback(
          written > maxBytes ? refuse(`"sdm" unzips to more than the ${maxBytes} bytes allowed`) : null,
          chunk,
        );
      },
    });
    await pipeline(
      await openEntry(zip, entry),
      capped,
      createWriteStream(binary, { flags: 'wx', mode: 0o755 }),
    );
    await chmod(binary, 0o755);
    return binary;
  } catch (error) {
    if (error instanceof SdmInstallError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const problem = namedProblem(message);
    if (problem) throw refuse(problem);
    throw new SdmInstallError(`the sdm ${version} zip could not be unzipped (${forLogLine(message, 200)})`);
  } finally {
    zip?.close();
  }
}

function openZip(zipPath: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(
      zipPath,
      { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true },
      (error, zip) => (error ? reject(error) : resolve(zip)),
    );
  });
}

/** The whole central directory: every entry is checked before anything is written. */
function readEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => (error ? reject(error) : resolve(stream)));
  });
}

export async function writeHashed(body: NodeJS.ReadableStream, file: string): Promise<string> {
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(body, hashing, createWriteStream(file));
  return hash.digest('hex');
}

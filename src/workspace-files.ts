// Files the workflow names by a path in its workspace (the `rules` file, `state: file:<path>`): they must really be
// inside the workspace (symlinks followed, the workspace's own real path too) and be regular files of a bounded
// size. Nothing is opened before its type is known, and then only non-blocking, so a FIFO cannot hang the run.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import path from 'node:path';

export const MAX_RULES_BYTES = 1024 * 1024; // 1 MiB: a rules file is a short YAML file
export const MAX_LEDGER_BYTES = 100 * 1000 * 1000; // 100 MB

/** Why a path cannot be used: `reason` completes "<input> "<path>" …"; `code` lets the caller pick the fix. */
export class WorkspaceFileError extends Error {
  constructor(
    readonly code: 'missing' | 'outside' | 'type' | 'size',
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'WorkspaceFileError';
  }
}

/** Where a path given relative to the workspace really is: a real path inside it, and whether it exists. */
export interface WorkspaceFile {
  file: string;
  exists: boolean;
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function sizeText(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1_000_000} MB`;
}

/** Throws unless `stats` is a regular file of at most `maxBytes`. */
function checkRegular(stats: Stats, maxBytes: number): void {
  if (!stats.isFile()) throw new WorkspaceFileError('type', `is ${kindOf(stats)}, not a regular file`);
  if (stats.size > maxBytes) throw new WorkspaceFileError('size', `is larger than ${sizeText(maxBytes)}`);
}

/**
 * Resolves `relativePath` against the workspace and follows every symlink; the result must lie inside the
 * workspace's real path (never the workspace itself). With `mayBeMissing`, a file that does not exist yet is fine
 * when the real path of its nearest existing folder is inside the workspace (it is created there later).
 * Checks the type (regular file) and size of an existing file without opening it.
 */
export function locateInWorkspace(
  workspace: string,
  relativePath: string,
  options: { maxBytes: number; mayBeMissing?: boolean },
): WorkspaceFile {
  const root = realpathSync(workspace);
  const prefix = root.endsWith(path.sep) ? root : `${root}${path.sep}`;
  const inside = (real: string) => real.startsWith(prefix);
  const outside = () =>
    new WorkspaceFileError('outside', 'leads outside the workspace (its real path, symlinks followed)');
  const given = path.resolve(root, relativePath);
  let real: string | undefined;
  try {
    real = realpathSync(given);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT' && errnoCode(error) !== 'ENOTDIR') throw error;
  }
  if (real !== undefined) {
    if (!inside(real)) throw outside();
    checkRegular(statSync(real), options.maxBytes);
    return { file: real, exists: true };
  }
  // Missing. A dangling symlink (here or on the way) is not "missing": writing through it could land anywhere.
  const rest: string[] = [];
  let dir = given;
  for (;;) {
    let exists = true;
    try {
      lstatSync(dir);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
      exists = false;
    }
    if (exists) break;
    rest.unshift(path.basename(dir));
    const parent = path.dirname(dir);
    if (parent === dir) throw outside();
    dir = parent;
  }
  if (rest.length === 0 || !options.mayBeMissing) {
    // Either `given` itself is there but cannot be resolved (a dangling symlink), or it is simply missing.
    if (rest.length === 0)
      throw new WorkspaceFileError('type', 'is a symbolic link whose target does not exist');
    throw new WorkspaceFileError('missing', 'does not exist in the workspace');
  }
  let base: string;
  try {
    base = realpathSync(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw outside(); // a dangling symlink on the way
    throw error;
  }
  if (base !== root && !inside(base)) throw outside();
  const baseStats = statSync(base);
  if (!baseStats.isDirectory()) throw new WorkspaceFileError('type', `has ${kindOf(baseStats)} on its way`);
  return { file: path.join(base, ...rest), exists: false };
}

/**
 * Reads a file `locateInWorkspace` found, again without following a symlink or blocking on a FIFO (opened
 * non-blocking, type and size checked through the descriptor, in case the path changed since).
 */
export function readRegularFileSync(file: string, maxBytes: number): string {
  checkRegular(statSync(file), maxBytes);
  const fd = openSync(file, READ_FLAGS);
  try {
    const stats = fstatSync(fd);
    checkRegular(stats, maxBytes);
    const buffer = Buffer.alloc(Math.min(stats.size, maxBytes) + 1);
    let length = 0;
    for (let read = 1; read > 0 && length < buffer.length; length += read) {
      read = readSync(fd, buffer, length, buffer.length - length, null);
    }
    if (length > maxBytes) throw new WorkspaceFileError('size', `is larger than ${sizeText(maxBytes)}`);
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The same, asynchronously; undefined when the file does not exist. */
export async function readRegularFile(file: string, maxBytes: number): Promise<string | undefined> {
  let handle;
  try {
    checkRegular(await lstat(file), maxBytes);
    handle = await open(file, READ_FLAGS);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    checkRegular(await handle.stat(), maxBytes);
    const text = await handle.readFile('utf8');
    if (Buffer.byteLength(text) > maxBytes)
      throw new WorkspaceFileError('size', `is larger than ${sizeText(maxBytes)}`);
    return text;
  } finally {
    await handle.close();
  }
}

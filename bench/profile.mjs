// Reading V8 CPU profiles (.cpuprofile, as `node --cpu-prof` writes them): time per function and busy time.
import path from 'node:path';

/**
 * @typedef {{ functionName: string, url: string, lineNumber: number, columnNumber?: number }} CallFrame
 * @typedef {{ id: number, callFrame: CallFrame, children?: number[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], startTime: number, endTime: number, samples?: number[], timeDeltas?: number[] }} CpuProfile
 */

/** Pseudo-frames V8 uses for time not spent running JavaScript of the program. */
export const IDLE = '(idle)';
export const PROGRAM = '(program)';
export const GC = '(garbage collector)';

/**
 * Self time per node id, in milliseconds: each sample's time delta goes to the node it hit. (V8 writes the delta
 * before a sample in timeDeltas[i], so the interval before sample i is charged to sample i, as DevTools does.)
 * @param {CpuProfile} profile
 * @returns {Map<number, number>}
 */
export function selfTimes(profile) {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  /** @type {Map<number, number>} */
  const self = new Map();
  for (let i = 0; i < samples.length; i++) {
    const id = /** @type {number} */ (samples[i]);
    const delta = Math.max(0, deltas[i] ?? 0) / 1000;
    self.set(id, (self.get(id) ?? 0) + delta);
  }
  return self;
}

/**
 * Busy time of a profiled process: all sampled time except `(idle)` (waiting on the network, timers, children) and
 * `(program)` (V8 and Node internals outside any JavaScript frame: the native side of start-up and I/O). JavaScript,
 * garbage collection and native functions called from JavaScript count.
 * @param {CpuProfile} profile
 * @returns {{ totalMs: number, busyMs: number, idleMs: number, programMs: number, gcMs: number }}
 */
export function busyTime(profile) {
  const self = selfTimes(profile);
  let totalMs = 0;
  let idleMs = 0;
  let programMs = 0;
  let gcMs = 0;
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    totalMs += ms;
    if (node.callFrame.functionName === IDLE) idleMs += ms;
    else if (node.callFrame.functionName === PROGRAM) programMs += ms;
    else if (node.callFrame.functionName === GC) gcMs += ms;
  }
  return { totalMs, busyMs: totalMs - idleMs - programMs, idleMs, programMs, gcMs };
}

/**
 * A frame's location for people: the path relative to `root` when under it, `node:` built-ins as they are, and a
 * 1-based line.
 * @param {CallFrame} frame
 * @param {string} root
 */
export function where(frame, root) {
  if (!frame.url) return '';
  let url = frame.url;
  if (url.startsWith('file://')) {
    try {
      url = decodeURIComponent(new URL(url).pathname);
    } catch {
      // keep it as it is
    }
    if (url.startsWith(`${root}${path.sep}`)) url = path.relative(root, url);
  }
  return `${url}:${frame.lineNumber + 1}`;
}

/**
 * The functions with the most self time (the same function reached through different call paths counted once),
 * with their share of the sampled time.
 * @param {CpuProfile} profile
 * @param {number} count
 * @param {string} root
 * @param {ReadonlyArray<string>} [exclude] function names left out of the list (their time still counts in share)
 * @returns {Array<{ name: string, where: string, selfMs: number, share: number }>}
 */
export function topFunctions(profile, count, root, exclude = []) {
  const self = selfTimes(profile);
  /** @type {Map<string, { name: string, where: string, selfMs: number }>} */
  const byFunction = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    total += ms;
    const frame = node.callFrame;
    const name = frame.functionName || '(anonymous)';
    const at = where(frame, root);
    const key = `${name}\u0000${at}\u0000${frame.columnNumber ?? ''}`;
    const entry = byFunction.get(key) ?? { name, where: at, selfMs: 0 };
    entry.selfMs += ms;
    byFunction.set(key, entry);
  }
  return [...byFunction.values()]
    .filter((f) => f.selfMs > 0 && !exclude.includes(f.name))
    .sort((a, b) => b.selfMs - a.selfMs || a.name.localeCompare(b.name))
    .slice(0, count)
    .map((f) => ({ ...f, share: total > 0 ? f.selfMs / total : 0 }));
}

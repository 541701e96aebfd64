// @ts-check
/**
 * A Node preload that moves a process's clock: with `FAKE_CLOCK_OFFSET_MS` set (an integer, may be negative),
 * `Date.now()`, `new Date()` and `Date()` read the real time plus that offset. Nothing else changes: a Date built
 * from arguments (`new Date(ms)`, `new Date(text)`), `Date.parse`, `Date.UTC`, timers and `performance.now()`
 * are as before, so only "what time is it" moves. Without the variable (or empty) the preload does nothing.
 *
 * Load it with `NODE_OPTIONS=--import <file URL of this module>` (see `clockEnv`): the e2e tests run the bundled
 * action "later" this way, e.g. to see a re-run extend a grant. NODE_OPTIONS reaches the processes the action
 * starts with its environment (the fake sdm is a node script), so they share the moved clock.
 *
 * A value that is not an integer number of milliseconds stops the process at once: a test that meant to move the
 * clock must not silently run on the real one.
 */
/** The variable holding the offset, in milliseconds. */
export const OFFSET_VARIABLE = 'FAKE_CLOCK_OFFSET_MS';

/**
 * The environment that runs a node process (and the node processes it starts) `offsetMs` later than now.
 * @param {number} offsetMs
 * @returns {{ NODE_OPTIONS: string, FAKE_CLOCK_OFFSET_MS: string }}
 */
export function clockEnv(offsetMs) {
  if (!Number.isSafeInteger(offsetMs))
    throw new TypeError(`clock offset must be whole milliseconds: ${offsetMs}`);
  // NODE_OPTIONS splits on spaces: a file URL has none (they are escaped as %20).
  return { NODE_OPTIONS: `--import ${import.meta.url}`, [OFFSET_VARIABLE]: String(offsetMs) };
}

/**
 * Replaces globalThis.Date with one whose "now" is `offsetMs` later.
 * @param {number} offsetMs
 */
function moveClock(offsetMs) {
  const RealDate = globalThis.Date;
  const realNow = RealDate.now.bind(RealDate);
  const now = () => realNow() + offsetMs;
  /**
   * @this {unknown}
   * @param {...unknown} args
   */
  function Date(...args) {
    // Called without `new`, Date ignores its arguments and returns the current time as a string.
    if (!new.target) return new RealDate(now()).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [now()] : args, new.target);
  }
  Object.defineProperty(Date, 'length', { value: RealDate.length });
  // The same prototype: instanceof, methods and subclasses (class X extends Date) behave as before.
  Object.defineProperty(Date, 'prototype', { value: RealDate.prototype, writable: false });
  Object.setPrototypeOf(Date, RealDate); // parse, UTC
  Object.defineProperty(Date, 'now', { value: now, writable: true, configurable: true });
  Object.defineProperty(RealDate.prototype, 'constructor', {
    value: Date,
    writable: true,
    configurable: true,
  });
  globalThis.Date = /** @type {DateConstructor} */ (/** @type {unknown} */ (Date));
}

const raw = process.env[OFFSET_VARIABLE];
if (raw !== undefined && raw !== '') {
  const offsetMs = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(offsetMs)) {
    process.stderr.write(
      `fake clock: ${OFFSET_VARIABLE} must be an integer number of milliseconds, got ${raw}\n`,
    );
    process.exit(64);
  }
  moveClock(offsetMs);
}

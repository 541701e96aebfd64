// What every fake that takes injected faults shares: picking the fault that applies to a request.
// Each fake keeps its own fault shape and its own predicate for "this fault matches this request".

/**
 * Finds the first fault in `faults` that `matches`, counts one use of it (decrements `times`, which defaults
 * to 1) and removes it from `faults` when no uses are left. Returns that fault, or undefined when none matches.
 * @template {{ times?: number }} F
 * @param {F[]} faults the queue, changed in place
 * @param {(fault: F) => boolean} matches
 * @returns {F | undefined}
 */
export function takeFault(faults, matches) {
  const i = faults.findIndex(matches);
  if (i < 0) return undefined;
  const fault = /** @type {F} */ (faults[i]);
  const left = (fault.times ?? 1) - 1;
  fault.times = left;
  if (left <= 0) faults.splice(i, 1);
  return fault;
}

// A cancelled or timed-out job: the runner sends SIGINT, then SIGTERM 7.5 s later. The first signal starts nothing
// new and lets running commands finish (their outcome would otherwise be unknown); SIGTERM or a second signal stops
// them too. Either way the run still records what was done.
import * as core from '@actions/core';

export interface Cancellation {
  /** Aborted by the first signal: start nothing new, record what was done. */
  cancel: AbortSignal;
  /** Aborted by SIGTERM or a second signal: stop running sdm commands too. */
  kill: AbortSignal;
  /** Stops listening for signals. */
  stop(): void;
}

export function watchCancellation(): Cancellation {
  const cancel = new AbortController();
  const kill = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      core.warning(`Received ${signal}: starting no new sdm command; recording what was done.`);
      cancel.abort();
    }
    if (signal === 'SIGTERM' || signals > 1) kill.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    cancel: cancel.signal,
    kill: kill.signal,
    stop: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

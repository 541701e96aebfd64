// The preflight checklist: what each step found out about PagerDuty, sdm, strongDM and the ledger, one line per
// check, so a first run (a dry run with both tokens) says precisely what works and what to fix. Shown in the job
// summary and the log, and given as the `checks` output.

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface Check {
  check: string;
  status: CheckStatus;
  detail: string; // may hold text from PagerDuty or strongDM: escaped wherever it is shown
  fix?: string;
}

export const CHECK_MARKS: Record<CheckStatus, string> = { pass: '✅', warn: '⚠️', fail: '❌' };

export class Checklist {
  readonly checks: Check[] = [];

  pass(check: string, detail: string): void {
    this.checks.push({ check, status: 'pass', detail });
  }

  warn(check: string, detail: string, fix?: string): void {
    this.checks.push({ check, status: 'warn', detail, ...(fix ? { fix } : {}) });
  }

  fail(check: string, detail: string, fix?: string): void {
    this.checks.push({ check, status: 'fail', detail, ...(fix ? { fix } : {}) });
  }

  /** Runs a step: a pass line saying what it found, or a fail line with its error (then rethrown). */
  async verify<T>(check: string, step: () => Promise<T>, found: (value: T) => string): Promise<T> {
    let value: T;
    try {
      value = await step();
    } catch (error) {
      this.fail(check, error instanceof Error ? error.message : String(error));
      throw error;
    }
    this.pass(check, found(value));
    return value;
  }

  counts(): string {
    return countChecks(this.checks);
  }
}

/** "9 passed, 1 warning, 1 failed" */
export function countChecks(checks: Check[]): string {
  const count = (status: CheckStatus) => checks.filter((check) => check.status === status).length;
  const warnings = count('warn');
  const failed = count('fail');
  return [
    `${count('pass')} passed`,
    ...(warnings > 0 ? [`${warnings} warning${warnings === 1 ? '' : 's'}`] : []),
    ...(failed > 0 ? [`${failed} failed`] : []),
  ].join(', ');
}

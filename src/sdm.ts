// The sdm command lines this action runs, all in one place (docs/strongdm-cli.md). The admin token goes
// only into the child's environment (SDM_ADMIN_TOKEN), never into argv, where other processes and logs could see it.
// child_process is used rather than @actions/exec because a hung sdm must be killed after a timeout.
import { execFile } from 'node:child_process';
import { Deadline, retry } from './retry.js';
import { parseHelp } from './sdm-help.js';
import { WritePacer } from './write-pacer.js';
import { forErrorDetail } from './text.js';

export interface SdmResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  cancelled?: boolean;
  /** The command never ran: why (strongDM's write limit would have outlasted the time budget). */
  notStarted?: string;
}

/** The changes the executor makes; SdmCli runs them as sdm commands, unit tests stand in for it. */
export interface SdmWrites {
  grantTemporary(resource: string, email: string, from: string, until: string): Promise<SdmResult>;
  revokeTemporary(resource: string, email: string): Promise<SdmResult>;
}

export class SdmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SdmError';
  }
}

export interface SdmCliOptions {
  binary: string;
  adminToken: string;
  /** HOME and SDM_HOME of every command: a private folder, so no state of sdm outlives the run or leaks into it. */
  home: string;
  timeoutMs?: number;
  deadline?: Deadline;
  /** Aborting kills a running command (the run was cancelled). */
  signal?: AbortSignal;
  /** Aborting starts no new write: one waiting under strongDM's write limit gives up (the run was cancelled). */
  cancel?: AbortSignal;
  /** Paces writes under strongDM's limit; tests give a smaller one. */
  pacer?: WritePacer;
}

const MAX_ATTEMPTS = 4;

/** The subcommand the action assumes revokes temporary grants (UNCONFIRMED: see docs/strongdm-cli.md). */
export const REVOKE_SUBCOMMAND = 'revoke';
const GRANT_FLAGS = ['--from', '--until'];

/** What this sdm offers, read from its own help. */
export interface SdmCapabilities {
  /** The flags `grant-temporary` lists. */
  grantFlags: string[];
  /** The subcommands of `sdm admin users`. */
  userCommands: string[];
  /** `grant-temporary` offers --from and --until. */
  canGrant: boolean;
  /** `sdm admin users` lists the revoke subcommand. */
  canRevoke: boolean;
}

/** The resource kinds strongDM lists, each a `sdm admin <kind> list --json`. */
export const RESOURCE_KINDS = ['datasources', 'servers', 'clusters'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/**
 * strongDM's rate limit answer ("resource exhausted: Sorry! You've made too many requests, try again"). The CLI's
 * exact text and exit code are UNCONFIRMED; this is the one place that reads English from sdm, and only to decide
 * whether to wait and try again.
 */
export function isRateLimited(result: SdmResult): boolean {
  return result.exitCode !== 0 && /resource exhausted|too many requests/i.test(result.stderr);
}

/** The subcommands of `sdm admin users` that change strongDM, and so count against its write limit. */
const WRITE_COMMANDS = new Set(['grant-temporary', REVOKE_SUBCOMMAND]);

export class SdmCli implements SdmWrites {
  private readonly timeoutMs: number;
  private readonly deadline: Deadline;
  /** One per run, shared by every concurrent command: the limit is per admin token. */
  private readonly pacer: WritePacer;
  /**
   * The environment of every command, made once: reading process.env is slow, and at thousands of commands
   * filtering it per command showed in the profile of a 5,000-grant first run.
   */
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly options: SdmCliOptions) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.deadline = options.deadline ?? new Deadline(10 * 60_000);
    this.pacer = options.pacer ?? new WritePacer();
    this.env = { ...childEnvironment(), HOME: options.home, SDM_HOME: options.home };
  }

  /**
   * What this sdm offers, from `sdm admin users --help` and `sdm admin users grant-temporary --help` (no token
   * needed, and none is given). Read once per run, before any change.
   */
  async probeCapabilities(): Promise<SdmCapabilities> {
    const [users, grant] = await Promise.all([
      this.runOnce(['admin', 'users', '--help'], { withToken: false }),
      this.runOnce(['admin', 'users', 'grant-temporary', '--help'], { withToken: false }),
    ]);
    const userCommands = users.exitCode === 0 ? parseHelp(users.stdout || users.stderr).commands : [];
    const grantFlags = grant.exitCode === 0 ? parseHelp(grant.stdout || grant.stderr).options : [];
    return {
      grantFlags,
      userCommands,
      canGrant: GRANT_FLAGS.every((flag) => grantFlags.includes(flag)),
      canRevoke: userCommands.includes(REVOKE_SUBCOMMAND),
    };
  }

  /**
   * Emails of the strongDM users who are not suspended, from one `sdm admin users list --json`. Which key the CLI
   * uses for a suspended user is UNCONFIRMED: `suspended: true` and `permissionLevel: "suspended"` both count.
   */
  async listUserEmails(): Promise<string[]> {
    const users = await this.listJson(['admin', 'users', 'list', '--json'], 'list users');
    return users.flatMap((user) => {
      const { email, suspended, permissionLevel } = user as {
        email?: unknown;
        suspended?: unknown;
        permissionLevel?: unknown;
      };
      const active = suspended !== true && permissionLevel !== 'suspended';
      return typeof email === 'string' && email !== '' && active ? [email] : [];
    });
  }

  /** Names of every resource of one kind, to check the configured resources before any grant. */
  async listResourceNames(kind: ResourceKind): Promise<string[]> {
    return (await this.listJson(['admin', kind, 'list', '--json'], `list ${kind}`)).flatMap((resource) => {
      const name = (resource as { name?: unknown } | null)?.name;
      return typeof name === 'string' ? [name] : [];
    });
  }

  private async listJson(args: string[], right: string): Promise<unknown[]> {
    const command = `sdm ${args.slice(0, 3).join(' ')}`;
    const result = await this.run(args);
    if (result.exitCode === -1 && !result.timedOut)
      throw new SdmError(`sdm could not be run: ${failureReason(result)}`);
    if (result.exitCode !== 0) {
      throw new SdmError(
        `"${command}" failed: ${failureReason(result)}; check that sdm-admin-token may ${right}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(result.stdout);
    } catch {
      throw new SdmError(`"${command} --json" printed something that is not JSON`);
    }
    if (!Array.isArray(parsed)) throw new SdmError(`"${command} --json" did not print a JSON array`);
    return parsed;
  }

  /** Grants one resource to one user for [from, until]; times are RFC3339 UTC. Arguments are validated by the caller. */
  async grantTemporary(resource: string, email: string, from: string, until: string): Promise<SdmResult> {
    return this.run(['admin', 'users', 'grant-temporary', '--from', from, '--until', until, resource, email]);
  }

  /**
   * UNCONFIRMED (see docs/strongdm-cli.md): no CLI command to revoke a temporary grant is documented. This assumes
   * `sdm admin users revoke <resource> <email>` removes every temporary grant of that user to that resource; it is
   * run only when probeCapabilities() found the subcommand in sdm's help.
   */
  async revokeTemporary(resource: string, email: string): Promise<SdmResult> {
    return this.run(['admin', 'users', REVOKE_SUBCOMMAND, resource, email]);
  }

  /**
   * Runs a command; a rate-limited answer is retried with backoff while the time budget allows. Every attempt at a
   * write waits for a slot under strongDM's write limit first.
   */
  async run(args: string[]): Promise<SdmResult> {
    const isWrite = args[0] === 'admin' && args[1] === 'users' && WRITE_COMMANDS.has(args[2] ?? '');
    return retry<SdmResult>(
      async () => {
        const result = isWrite ? await this.runPaced(args) : await this.runOnce(args);
        return isRateLimited(result) ? { again: 'rate limited', last: result } : { done: result };
      },
      {
        attempts: MAX_ATTEMPTS,
        deadline: this.deadline,
        ...(this.options.signal ? { signal: this.options.signal } : {}),
        giveUp: (_failure, _why, last) => last as SdmResult,
      },
    );
  }

  private async runPaced(args: string[]): Promise<SdmResult> {
    const slot = await this.pacer.acquire(
      () => this.deadline.remainingMs(),
      this.options.cancel ?? this.options.signal,
    );
    if (!slot.granted) {
      const cancelled = slot.why === 'cancelled';
      return {
        exitCode: -1,
        stdout: '',
        stderr: '',
        timedOut: false,
        cancelled,
        ...(cancelled
          ? {}
          : {
              notStarted: "time-budget would be spent waiting under strongDM's limit of 500 writes a minute",
            }),
      };
    }
    try {
      return await this.runOnce(args);
    } finally {
      slot.release();
    }
  }

  private runOnce(args: string[], { withToken } = { withToken: true }): Promise<SdmResult> {
    const env = this.env;
    return new Promise((resolve) => {
      execFile(
        this.options.binary,
        args,
        {
          env: withToken ? { ...env, SDM_ADMIN_TOKEN: this.options.adminToken } : env,
          timeout: this.timeoutMs,
          killSignal: 'SIGKILL',
          ...(this.options.signal ? { signal: this.options.signal } : {}),
          maxBuffer: 64 * 1024 * 1024,
          encoding: 'utf8',
        },
        (error, stdout, stderr) => {
          const cancelled = error?.name === 'AbortError';
          const timedOut = !cancelled && Boolean(error && (error as { killed?: boolean }).killed);
          const code = error ? (error as { code?: unknown }).code : 0;
          resolve({
            exitCode: typeof code === 'number' ? code : error ? -1 : 0,
            stdout: this.scrub(stdout),
            stderr: this.scrub(stderr || (error && typeof code !== 'number' ? error.message : '')),
            timedOut,
            cancelled,
          });
        },
      );
    });
  }

  /** sdm may echo what it was given; no token reaches a row's reason or a log. */
  private scrub(text: string): string {
    return this.options.adminToken ? text.split(this.options.adminToken).join('***') : text;
  }
}

/**
 * The runner's environment minus what sdm has no business seeing: the action's inputs (which hold both tokens),
 * the runner's own credentials, and any SDM_* setting an earlier step left (the action sets its own).
 */
export function childEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) =>
        !name.startsWith('INPUT_') &&
        !name.startsWith('ACTIONS_') &&
        !name.startsWith('SDM_') &&
        name !== 'GITHUB_TOKEN',
    ),
  );
}

/** One line saying why a command failed: its stderr (cut to one line), or how it ended. */
export function failureReason(result: SdmResult): string {
  if (result.cancelled) return 'stopped: the run was cancelled';
  if (result.notStarted) return `not attempted: ${result.notStarted}`;
  if (result.timedOut) return 'sdm did not finish within sdm-timeout and was stopped';
  const shown = forErrorDetail(result.stderr.trim() || result.stdout.trim());
  return shown ? `exit ${result.exitCode}: ${shown}` : `exit ${result.exitCode}`;
}

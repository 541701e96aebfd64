// The sdm command lines this action runs, all in one place (../shared/reference/sdm-cli.md). The admin token goes
// only into the child's environment (SDM_ADMIN_TOKEN), never into argv, where other processes and logs could see it.
// child_process is used rather than @actions/exec because a hung sdm must be killed after a timeout.
import { execFile } from 'node:child_process';

export interface SdmResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
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
  timeoutMs?: number;
}

export class SdmCli {
  private readonly timeoutMs: number;

  constructor(private readonly options: SdmCliOptions) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** Emails of all strongDM users, from one `sdm admin users list --json`. */
  async listUserEmails(): Promise<string[]> {
    const result = await this.run(['admin', 'users', 'list', '--json']);
    if (result.exitCode === -1 && !result.timedOut)
      throw new SdmError(`sdm could not be run: ${describe(result)}`);
    if (result.exitCode !== 0) {
      throw new SdmError(
        `"sdm admin users list" failed: ${describe(result)}; check that sdm-admin-token may list users`,
      );
    }
    let users: unknown;
    try {
      users = JSON.parse(result.stdout);
    } catch {
      throw new SdmError('"sdm admin users list --json" printed something that is not JSON');
    }
    if (!Array.isArray(users)) throw new SdmError('"sdm admin users list --json" did not print a JSON array');
    return users.flatMap((user: unknown) => {
      const email = (user as { email?: unknown } | null)?.email;
      return typeof email === 'string' && email !== '' ? [email] : [];
    });
  }

  /** Grants one resource to one user for [from, until]; times are RFC3339 UTC. Arguments are validated by the caller. */
  async grantTemporary(resource: string, email: string, from: string, until: string): Promise<SdmResult> {
    return this.run(['admin', 'users', 'grant-temporary', '--from', from, '--until', until, resource, email]);
  }

  /**
   * UNCONFIRMED (see README): no CLI command to revoke a temporary grant is documented. This assumes
   * `sdm admin users revoke <resource> <email>` removes every temporary grant of that user to that resource.
   */
  async revokeTemporary(resource: string, email: string): Promise<SdmResult> {
    return this.run(['admin', 'users', 'revoke', resource, email]);
  }

  run(args: string[]): Promise<SdmResult> {
    return new Promise((resolve) => {
      execFile(
        this.options.binary,
        args,
        {
          env: { ...childEnvironment(), SDM_ADMIN_TOKEN: this.options.adminToken },
          timeout: this.timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: 64 * 1024 * 1024,
          encoding: 'utf8',
        },
        (error, stdout, stderr) => {
          const timedOut = Boolean(error && (error as { killed?: boolean }).killed);
          const code = error ? (error as { code?: unknown }).code : 0;
          resolve({
            exitCode: typeof code === 'number' ? code : error ? -1 : 0,
            stdout: this.scrub(stdout),
            stderr: this.scrub(stderr || (error && typeof code !== 'number' ? error.message : '')),
            timedOut,
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
 * The runner's environment minus what sdm has no business seeing: the action's inputs (which hold both tokens)
 * and the runner's own credentials.
 */
export function childEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) => !name.startsWith('INPUT_') && !name.startsWith('ACTIONS_') && name !== 'GITHUB_TOKEN',
    ),
  );
}

/** One line for a failed command: its stderr (first lines), or how it ended. */
export function describe(result: SdmResult): string {
  if (result.timedOut) return 'sdm did not finish in time and was stopped';
  const text = (result.stderr.trim() || result.stdout.trim()).replace(/\s+/g, ' ');
  const shown = text.length > 300 ? `${text.slice(0, 297)}...` : text;
  return shown ? `exit ${result.exitCode}: ${shown}` : `exit ${result.exitCode}`;
}

// The `message` output: a few lines of plain text saying what this run changed, for a chat notification step.
// Names and resources come from PagerDuty and the rules: control characters are stripped (forLogLine), and the
// README posts the text as Slack plain_text through toJSON, so it can neither mention anyone nor break the payload.
import { incidentNumber } from './summary-incidents.js';
import { compactTime } from './summary.js';
import { forLogLine } from './text.js';
import type { ReportRow, RowStatus } from './types.js';

/** Slack's plain_text section holds 3,000 characters; other chats are roomier. */
export const MESSAGE_LIMIT_CHARS = 2900;
const LINE_LIMIT_CHARS = 700;

/** The statuses a message reports, in this order; the rest (unchanged, skipped) changed nothing. */
const REPORTED: Array<{ status: RowStatus; label: string }> = [
  { status: 'failed', label: 'Failed' },
  { status: 'granted', label: 'Granted' },
  { status: 'would-grant', label: 'Would grant' }, // "(dry run)" or "(not applied)" added below
  { status: 'revoked', label: 'Revoked' },
  { status: 'stale', label: 'Stale (PagerDuty no longer backs it)' },
];

/** "Mon 30 Nov 14:00", in UTC, with plain spaces. */
export function shortUtc(date: Date): string {
  return compactTime(date, ' ');
}

export interface MessageContext {
  runUrl: string;
  /** The run's time: a grant that starts later says from when. */
  now: Date;
  /** A dry run's would-grant rows say so; a real run's are a plan that was refused (see `fatal`). */
  dryRun: boolean;
  /** Why the step fails whatever the rows say (a refused plan, a ledger not written). */
  fatal?: string;
}

/**
 * Empty when the run has nothing to tell (only unchanged or skipped rows), so a workflow can post with
 * `if: steps.<id>.outputs.message != ''`. A stale grant is told by every run until it ends or is revoked, and a dry
 * run tells what it would grant. Otherwise a totals line with the run's address, then one line per status:
 * each person once, with their resources ("Ada Lovelace: bastion, prod-db until Mon 30 Nov 14:00"; a grant that
 * starts later: "… from Tue 1 Dec 02:00 until Mon 7 Dec 14:00").
 */
export function renderMessage(rows: ReportRow[], context: MessageContext): string {
  const lines: string[] = [];
  const totals: string[] = [];
  for (const { status, label } of REPORTED) {
    const matching = rows.filter((row) => row.status === status);
    if (matching.length === 0) continue;
    totals.push(`${matching.length} ${status}`);
    const qualifier = status === 'would-grant' ? (context.dryRun ? ' (dry run)' : ' (not applied)') : '';
    lines.push(capLine(`${label}${qualifier}: `, peopleOf(matching, status, context.now)));
  }
  if (lines.length === 0 && !context.fatal) return '';
  const where = context.runUrl ? ` — ${context.runUrl}` : '';
  const head = `On-call access: ${totals.join(', ') || 'nothing changed'}${where}`;
  const fatal = context.fatal ? [`The step failed: ${forLogLine(context.fatal, 300)}`] : [];
  return capMessage([head, ...fatal, ...lines]);
}

/**
 * The message of a run that stopped before its plan. The error may quote PagerDuty or GitHub, so its line starts
 * with text of this action's own (a workflow's `echo` of the message cannot start a workflow command).
 */
export function renderStoppedMessage(error: string, runUrl: string): string {
  const where = runUrl ? ` — ${runUrl}` : '';
  return capMessage([`On-call access: the run stopped${where}`, `Error: ${forLogLine(error, 600)}`]);
}

/**
 * "Name: res1, res2 until T" per person and window, resources sorted; an incident grant's group says which
 * incident ("(incident #123)": the number only, as the title is PagerDuty's text and chats render markup); a
 * failure carries its reason, each once.
 */
function peopleOf(rows: ReportRow[], status: RowStatus, now: Date): string[] {
  type Group = {
    who: string;
    resources: string[];
    from: Date;
    until: Date;
    incident: string;
    reasons: Set<string>;
  };
  const groups = new Map<string, Group>();
  for (const row of rows) {
    const who = forLogLine(row.name || row.sdmEmail || row.email || row.pagerdutyUserId, 60);
    const incident = row.source.incident ? ` (incident ${incidentNumber(row.source.incident)})` : '';
    const key = `${row.pagerdutyUserId}\u0000${row.from.getTime()}\u0000${row.until.getTime()}\u0000${incident}`;
    const group = groups.get(key) ?? {
      who,
      resources: [],
      from: row.from,
      until: row.until,
      incident,
      reasons: new Set<string>(),
    };
    group.resources.push(forLogLine(row.resource, 60));
    if (status === 'failed') group.reasons.add(forLogLine(row.reason, 120));
    groups.set(key, group);
  }
  return [...groups.values()].map((group) => {
    const from = group.from.getTime() > now.getTime() ? ` from ${shortUtc(group.from)}` : '';
    const until = status === 'revoked' ? '' : `${from} until ${shortUtc(group.until)}`;
    const why = group.reasons.size > 0 ? ` (${[...group.reasons].join('; ')})` : '';
    return `${group.who}: ${group.resources.sort().join(', ')}${until}${group.incident}${why}`;
  });
}

/** Items joined by "; " up to the line limit, then "and N more". */
function capLine(label: string, items: string[]): string {
  let line = label;
  for (const [index, item] of items.entries()) {
    const separator = index === 0 ? '' : '; ';
    const rest = items.length - index;
    if (index > 0 && line.length + separator.length + item.length > LINE_LIMIT_CHARS) {
      return `${line}; and ${rest} more`;
    }
    line += separator + item;
  }
  return line.length > LINE_LIMIT_CHARS ? `${line.slice(0, LINE_LIMIT_CHARS - 1)}…` : line;
}

/** Whole lines up to the limit; the step summary has everything. */
function capMessage(lines: string[]): string {
  const kept: string[] = [];
  let size = 0;
  for (const line of lines) {
    if (size + line.length + 1 > MESSAGE_LIMIT_CHARS - 60) {
      kept.push(`(${lines.length - kept.length} more lines in the job summary)`);
      break;
    }
    kept.push(line);
    size += line.length + 1;
  }
  return kept.join('\n');
}

// The job summary (a Markdown table) and the same table as plain text for the step log.
// Every value that came from PagerDuty or strongDM is untrusted: escaped for Markdown and HTML in the summary,
// stripped of control characters everywhere (a newline in the log could start a workflow command such as ::add-mask::).
import { CHECK_MARKS, countChecks, type Check } from './checklist.js';
import { rfc3339 } from './plan.js';
import { forHtml, forLogLine, forMarkdownCell, forMermaid } from './text.js';
import type { ReportRow, RowStatus } from './types.js';

export const SUMMARY_LIMIT_BYTES = 1024 * 1024; // GitHub drops step summaries above 1 MiB
const SUMMARY_BUDGET_BYTES = SUMMARY_LIMIT_BYTES - 64 * 1024; // room for the heading and the note
const MAX_DISPLAY_CHARS = 80;

export interface SummaryContext {
  dryRun: boolean;
  now: Date;
  lookahead: string;
  lookaheadMs: number;
  notes: string[]; // plain sentences written by this action (not untrusted)
  runUrl: string;
  checks: Check[];
}

export const STATUSES = [
  'granted',
  'would-grant',
  'unchanged',
  'stale',
  'revoked',
  'skipped',
  'failed',
] as const;

export function countByStatus(rows: ReportRow[]): Record<RowStatus, number> {
  const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<RowStatus, number>;
  for (const row of rows) counts[row.status]++;
  return counts;
}

function scheduleLabel(row: ReportRow): string {
  return row.source.scheduleId === null
    ? `${row.source.escalationPolicyName} (direct)`
    : row.source.scheduleName || row.source.scheduleId;
}

interface Column {
  header: string;
  cell: (row: ReportRow) => string;
  width?: number; // display limit for untrusted text
}

const COLUMNS: Column[] = [
  { header: 'Person', cell: (row) => row.name },
  { header: 'Email', cell: (row) => row.sdmEmail ?? row.email ?? '' },
  { header: 'Schedule', cell: scheduleLabel },
  { header: 'Level', cell: (row) => String(row.source.escalationLevel) },
  { header: 'Rule', cell: (row) => row.rule },
  { header: 'Resource', cell: (row) => row.resource },
  { header: 'From (UTC)', cell: (row) => rfc3339(row.from) },
  { header: 'Until (UTC)', cell: (row) => rfc3339(row.until) },
  { header: 'Status', cell: (row) => row.status },
  { header: 'Reason', cell: (row) => row.reason, width: 200 },
];

/** The Rule column only when rules are in use (simple mode has the one rule "default"). */
function columnsFor(rows: ReportRow[]): Column[] {
  const withRules = rows.some((row) => row.rule !== 'default');
  return COLUMNS.filter((column) => withRules || column.header !== 'Rule');
}

function cells(row: ReportRow, columns: Column[]): string[] {
  return columns.map((column) => forLogLine(column.cell(row), column.width ?? MAX_DISPLAY_CHARS));
}

/** Every status that occurs, and always failures: "3 granted, 12 unchanged, 0 failed". */
export function totalsLine(rows: ReportRow[]): string {
  const counts = countByStatus(rows);
  return STATUSES.filter((status) => counts[status] > 0 || status === 'failed')
    .map((status) => `${counts[status]} ${status}`)
    .join(', ');
}

/** Markdown for GITHUB_STEP_SUMMARY, kept under GitHub's 1 MiB limit by leaving out rows with a note. */
export function renderSummary(rows: ReportRow[], context: SummaryContext): string {
  const title = context.dryRun ? 'On-call access (dry run: nothing changed)' : 'On-call access';
  const head = [
    `## ${title}`,
    '',
    `**${totalsLine(rows)}** for on-calls from ${rfc3339(context.now)} over the next ${forHtml(context.lookahead)}.`,
    '',
    // A note may quote an error from GitHub or strongDM: no links, emphasis, mentions or issue references.
    ...context.notes.map((note) => `> ${forMarkdownCell(forLogLine(note, 2000))}`),
    ...(context.notes.length > 0 ? [''] : []),
  ].join('\n');
  // A dry run is how a first run is done: there the checklist comes first.
  const checklist = renderChecklist(context.checks);
  const [before, after] = context.dryRun ? [checklist, ''] : ['', checklist && `\n${checklist}`];
  if (rows.length === 0) {
    return `${head}${before}\nNobody is on call in the chosen schedules during this window.\n${after}`;
  }

  const timeline = renderTimeline(rows, context);
  const columns = columnsFor(rows);
  const headerRow = `| ${columns.map((c) => c.header).join(' | ')} |\n|${columns.map(() => ' --- ').join('|')}|`;
  const bodyRows: string[] = [];
  let size = [head, checklist, timeline, headerRow].reduce((sum, part) => sum + Buffer.byteLength(part), 0);
  for (const row of rows) {
    const line = `| ${cells(row, columns).map(forMarkdownCell).join(' | ')} |`;
    size += Buffer.byteLength(line) + 1;
    if (size > SUMMARY_BUDGET_BYTES) break;
    bodyRows.push(line);
  }
  const omitted = rows.length - bodyRows.length;
  const note =
    omitted > 0
      ? `\n\n> ${omitted} of ${rows.length} rows are not shown to keep this summary under GitHub's 1 MiB limit; ` +
        'the step log and the `plan` output have every row.\n'
      : '\n';
  return `${head}${before}\n${timeline}\n${headerRow}\n${bodyRows.join('\n')}${note}${after}`;
}

/** One line per check for the step log: mark, check, what was found, the fix. */
export function checklistLines(checks: Check[]): string[] {
  return checks.map(
    (check) =>
      `${CHECK_MARKS[check.status]} ${forLogLine(check.check)}: ${forLogLine(check.detail, 300)}${check.fix ? ` (fix: ${forLogLine(check.fix, 200)})` : ''}`,
  );
}

/** The checklist as a Markdown list in <details>: folded when everything passed, open when something did not. */
export function renderChecklist(checks: Check[]): string {
  if (checks.length === 0) return '';
  const open = checks.some((check) => check.status !== 'pass');
  const items = checks.map((check) => {
    const fix = check.fix ? ` — fix: ${forMarkdownCell(forLogLine(check.fix, 200))}` : '';
    return `- ${CHECK_MARKS[check.status]} **${forMarkdownCell(forLogLine(check.check))}**: ${forMarkdownCell(forLogLine(check.detail, 300))}${fix}`;
  });
  return [
    `<details${open ? ' open' : ''}><summary>Preflight checklist: ${countChecks(checks)}</summary>`,
    '',
    ...items,
    '',
    '</details>',
    '',
  ].join('\n');
}

/** The summary of a run that stopped with an error: the error, then the checklist as far as it got. */
export function renderStopped(message: string, checks: Check[]): string {
  return [
    '## On-call access: the run stopped',
    '',
    // The message may quote PagerDuty, strongDM or GitHub: no links, emphasis, mentions or issue references.
    `> ${forMarkdownCell(forLogLine(message, 2000))}`,
    '',
    renderChecklist(checks),
  ].join('\n');
}

const TIMELINE_STATUSES: Partial<Record<RowStatus, string>> = {
  granted: 'active, ',
  'would-grant': 'active, ',
  unchanged: '',
  stale: 'crit, ',
  revoked: 'done, ',
};
const MAX_TIMELINE_TASKS = 100;

function mermaidTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** A Mermaid gantt chart (job summaries render it) of who holds what over the lookahead, in UTC. */
export function renderTimeline(rows: ReportRow[], context: SummaryContext): string {
  const start = context.now.getTime();
  const end = start + context.lookaheadMs;
  const bars = rows.filter(
    (row) => row.status in TIMELINE_STATUSES && row.until.getTime() > start && row.from.getTime() < end,
  );
  if (bars.length === 0) return '';
  const byResource = new Map<string, ReportRow[]>();
  for (const row of bars.slice(0, MAX_TIMELINE_TASKS))
    byResource.set(row.resource, [...(byResource.get(row.resource) ?? []), row]);
  const lines = [
    '```mermaid',
    'gantt',
    `  title Who holds what over the next ${forMermaid(context.lookahead)} (UTC)`,
    '  dateFormat YYYY-MM-DD HH:mm',
    '  axisFormat %d %H:%M',
  ];
  for (const [resource, resourceRows] of byResource) {
    lines.push(`  section ${forMermaid(resource)}`);
    for (const row of resourceRows) {
      const from = Math.max(row.from.getTime(), start);
      const until = Math.max(Math.min(row.until.getTime(), end), from + 60_000);
      // The "·" keeps a name such as "dateFormat x" or "section y" from being read as a Mermaid keyword.
      lines.push(
        `  · ${forMermaid(row.name)} :${TIMELINE_STATUSES[row.status]}${mermaidTime(from)}, ${mermaidTime(until)}`,
      );
    }
  }
  lines.push('```', '');
  if (bars.length > MAX_TIMELINE_TASKS) {
    lines.push(
      `> The timeline shows the first ${MAX_TIMELINE_TASKS} of ${bars.length} grants; the table has them all.`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The same table as aligned plain text, for the step log. report.ts wraps it in ::stop-commands:: so that no value
 * can act as a workflow command; each line also starts with "|".
 */
export function renderLogTable(rows: ReportRow[]): string {
  const columns = columnsFor(rows);
  const table = [columns.map((c) => c.header), ...rows.map((row) => cells(row, columns))];
  const widths = columns.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  return table
    .map((line) => `| ${line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`)
    .join('\n');
}

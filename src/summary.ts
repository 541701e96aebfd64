// The job summary (a Markdown table) and the same table as plain text for the step log.
// Every value that came from PagerDuty or strongDM is untrusted: escaped for Markdown and HTML in the summary,
// stripped of control characters everywhere (a newline in the log could start a workflow command such as ::add-mask::).
import { rfc3339, type PlanRow } from './plan.js';

export const SUMMARY_LIMIT_BYTES = 1024 * 1024; // GitHub drops step summaries above 1 MiB
const SUMMARY_BUDGET_BYTES = SUMMARY_LIMIT_BYTES - 64 * 1024; // room for the heading and the note
const MAX_DISPLAY_CHARS = 80;

export interface ReportRow extends PlanRow {
  status: Exclude<PlanRow['status'], 'pending'>;
}

export interface SummaryContext {
  dryRun: boolean;
  now: Date;
  lookahead: string;
  notes: string[]; // plain sentences written by this action (not untrusted)
}

export const STATUSES = ['granted', 'would-grant', 'skipped', 'failed'] as const;

export function countByStatus(rows: ReportRow[]): Record<(typeof STATUSES)[number], number> {
  const counts = { granted: 0, 'would-grant': 0, skipped: 0, failed: 0 };
  for (const row of rows) counts[row.status]++;
  return counts;
}

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/\|/g, '&#124;');
}

/**
 * For a Markdown table cell: inline syntax (emphasis, code, links) is backslash-escaped, then HTML is escaped
 * (which also turns "|" into an entity so a value cannot add columns). Cells never start a line, so "#", "-"
 * and "+" need nothing.
 */
export function escapeMarkdownCell(value: string): string {
  return escapeHtml(value.replace(/[\\`*_[\]~]/g, '\\$&'));
}

/** One line, no control characters, at most `max` characters: for anything shown to a person. */
export function displayText(value: string, max = MAX_DISPLAY_CHARS): string {
  const flat = value
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    // The runner also reads "##[command]" anywhere in a log line; a word joiner keeps it from being one.
    .replace(/##\[/g, '##\u2060[');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function scheduleLabel(row: PlanRow): string {
  return row.source.scheduleId === null
    ? `${row.source.escalationPolicyName} (direct)`
    : row.source.scheduleName || row.source.scheduleId;
}

const HEADERS = [
  'Person',
  'Email',
  'Schedule',
  'Level',
  'Resource',
  'From (UTC)',
  'Until (UTC)',
  'Status',
  'Reason',
];

function cells(row: ReportRow): string[] {
  return [
    row.name,
    row.sdmEmail ?? row.email ?? '',
    scheduleLabel(row),
    String(row.source.escalationLevel),
    row.resource,
    rfc3339(row.from),
    rfc3339(row.until),
    row.status,
    row.reason,
  ].map((cell) => displayText(cell, cell === row.reason ? 200 : MAX_DISPLAY_CHARS));
}

export function totalsLine(rows: ReportRow[]): string {
  const counts = countByStatus(rows);
  return STATUSES.filter((status) => status !== 'would-grant' || counts[status] > 0)
    .map((status) => `${counts[status]} ${status}`)
    .join(', ');
}

/** Markdown for GITHUB_STEP_SUMMARY, kept under GitHub's 1 MiB limit by leaving out rows with a note. */
export function renderSummary(rows: ReportRow[], context: SummaryContext): string {
  const title = context.dryRun ? 'On-call access (dry run: nothing changed)' : 'On-call access';
  const head = [
    `## ${title}`,
    '',
    `**${totalsLine(rows)}** for on-calls from ${rfc3339(context.now)} over the next ${escapeHtml(context.lookahead)}.`,
    '',
    ...context.notes.map((note) => `> ${escapeHtml(note)}`),
    ...(context.notes.length > 0 ? [''] : []),
  ].join('\n');
  if (rows.length === 0) return `${head}\nNobody is on call in the chosen schedules during this window.\n`;

  const headerRow = `| ${HEADERS.join(' | ')} |\n|${HEADERS.map(() => ' --- ').join('|')}|`;
  const bodyRows: string[] = [];
  let size = Buffer.byteLength(head) + Buffer.byteLength(headerRow);
  for (const row of rows) {
    const line = `| ${cells(row).map(escapeMarkdownCell).join(' | ')} |`;
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
  return `${head}\n${headerRow}\n${bodyRows.join('\n')}${note}`;
}

/**
 * The same table as aligned plain text, for the step log. Each line starts with "|" so that no value can stand at
 * the start of a line, where the runner would read "::" as a workflow command.
 */
export function renderLogTable(rows: ReportRow[]): string {
  const table = [HEADERS, ...rows.map(cells)];
  const widths = HEADERS.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  return table
    .map((line) => `| ${line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`)
    .join('\n');
}

/** The `plan` output: one object per row, times in UTC RFC3339. */
export function planOutput(rows: ReportRow[]): object[] {
  return rows.map((row) => ({
    email: row.sdmEmail ?? row.email ?? '',
    name: row.name,
    pagerdutyUserId: row.pagerdutyUserId,
    scheduleId: row.source.scheduleId,
    scheduleName: row.source.scheduleId === null ? '' : row.source.scheduleName,
    escalationPolicyId: row.source.escalationPolicyId,
    escalationLevel: row.source.escalationLevel,
    resource: row.resource,
    from: rfc3339(row.from),
    until: rfc3339(row.until),
    status: row.status,
    reason: row.reason,
  }));
}

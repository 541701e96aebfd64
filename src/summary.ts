// The job summary (Markdown: rows grouped by status, then a timeline) and the same rows as a plain-text table for
// the step log. Every value that came from PagerDuty or strongDM is untrusted: escaped for Markdown and HTML in the
// summary, stripped of control characters everywhere (a newline in the log could start a workflow command such as
// ::add-mask::).
import { CHECK_MARKS, countChecks, type Check } from './checklist.js';
import { rfc3339 } from './plan.js';
import { forGanttTask, forHtml, forLogLine, forMarkdownCell, forMermaid } from './text.js';
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

/** Every status that occurs, and always failures: "3 granted, 12 unchanged, 0 failed". */
export function totalsLine(rows: ReportRow[]): string {
  const counts = countByStatus(rows);
  return STATUSES.filter((status) => counts[status] > 0 || status === 'failed')
    .map((status) => `${counts[status]} ${status}`)
    .join(', ');
}

const NBSP = '\u00a0';
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * "Mon 30 Nov 14:00" in UTC, joined by no-break spaces so that a table cell never wraps inside it (plain spaces
 * for chat: `space`).
 */
export function compactTime(date: Date, space = NBSP): string {
  const hhmm = date.toISOString().slice(11, 16);
  return [WEEKDAYS[date.getUTCDay()], date.getUTCDate(), MONTHS[date.getUTCMonth()], hhmm].join(space);
}

/**
 * "Mon 30 Nov 06:00–14:00"; across midnight "Mon 30 Nov 22:00 – Tue 06:00" (the weekday names the end day
 * unambiguously when it is less than 6 days on); no-break spaces throughout, so a range is never wrapped.
 */
export function compactRange(from: Date, until: Date): string {
  const start = compactTime(from);
  const end = compactTime(until);
  const day = (time: string) => time.slice(0, -6);
  if (day(start) === day(end)) return `${start}–${end.slice(-5)}`;
  const withinAWeek = until.getTime() - from.getTime() < 6 * 24 * 3_600_000;
  const shortEnd = withinAWeek ? `${end.slice(0, 3)}${NBSP}${end.slice(-5)}` : end;
  return `${start}${NBSP}–${NBSP}${shortEnd}`;
}

function scheduleLabel(row: ReportRow): string {
  return row.source.scheduleId === null
    ? `${row.source.escalationPolicyName} (direct)`
    : row.source.scheduleName || row.source.scheduleId;
}

/** Why the person is on call, in one short cell: "Platform Primary · L1", then " · database" (the rule) with rules. */
function sourceLabel(row: ReportRow, withRules: boolean): string {
  const source = `${forLogLine(scheduleLabel(row), 40)} · L${row.source.escalationLevel}`;
  return withRules ? `${source} · ${forLogLine(row.rule, 24)}` : source;
}

/** A summary column: its cell is one line of plain text, escaped for Markdown when the row is written. */
interface Column {
  header: string;
  cell: (row: ReportRow, withRules: boolean) => string;
}

const PERSON: Column = { header: 'Person', cell: (row) => forLogLine(row.name, 40) };
const EMAIL: Column = { header: 'Email', cell: (row) => forLogLine(row.sdmEmail ?? row.email ?? '', 48) };
const RESOURCE: Column = { header: 'Resource', cell: (row) => forLogLine(row.resource, 40) };
const WHEN: Column = { header: 'When', cell: (row) => compactRange(row.from, row.until) };
const SOURCE: Column = { header: 'Source', cell: sourceLabel };
const REASON_CHARS = 64;
const REASON: Column = { header: 'Reason', cell: (row) => forLogLine(row.reason, REASON_CHARS) };

/**
 * The groups, most urgent first. The email is shown only where someone has to act on the account (a refused
 * change, a person without access): it is the widest cell, and the other groups stay one line per row without it.
 */
const GROUPS: Array<{ status: RowStatus; mark: string; about: string; email: boolean }> = [
  {
    status: 'failed',
    mark: '❌',
    about: 'sdm refused these changes, or they were not attempted',
    email: true,
  },
  { status: 'stale', mark: '🟥', about: 'recorded grants that are no longer backed', email: false },
  { status: 'granted', mark: '🟩', about: 'new grants made by this run', email: false },
  { status: 'would-grant', mark: '🟩', about: 'grants a run that applies the plan would make', email: false },
  { status: 'revoked', mark: '✂️', about: 'stale grants revoked by this run', email: false },
  { status: 'skipped', mark: '⚠️', about: 'on call, but given no access', email: true },
  {
    status: 'unchanged',
    mark: '🟦',
    about: 'grants made by earlier runs, still backed by PagerDuty',
    email: false,
  },
];
const FOLD_UNCHANGED_OVER = 10;
/** Up to this many distinct reasons in a group, each is written once above its rows; more, in a cut column. */
const MAX_REASON_PARAGRAPHS = 4;
const REASON_PARAGRAPH_CHARS = 300;

/** What is left of the 1 MiB. Groups come most urgent first, so rows left out are the least urgent. */
class Budget {
  omitted = 0;
  constructor(private left: number) {}

  spend(text: string): void {
    this.left -= Buffer.byteLength(text) + 1;
  }

  fits(line: string): boolean {
    const bytes = Buffer.byteLength(line) + 1;
    if (bytes > this.left) {
      this.omitted++;
      return false;
    }
    this.left -= bytes;
    return true;
  }
}

function table(rows: ReportRow[], columns: Column[], withRules: boolean, budget: Budget): string[] {
  const header = [
    `| ${columns.map((c) => c.header).join(' | ')} |`,
    `|${columns.map(() => ' --- ').join('|')}|`,
  ];
  const body = rows
    .map((row) => `| ${columns.map((c) => forMarkdownCell(c.cell(row, withRules))).join(' | ')} |`)
    .filter((line) => budget.fits(line));
  if (body.length === 0) return [];
  budget.spend(header.join('\n'));
  return [...header, ...body, ''];
}

/** Rows that share a reason, in order of first appearance, except that rows without one come first. */
function byReason(rows: ReportRow[]): Map<string, ReportRow[]> {
  const groups = new Map<string, ReportRow[]>([['', []]]);
  for (const row of rows) {
    const reason = forLogLine(row.reason, REASON_PARAGRAPH_CHARS);
    const same = groups.get(reason);
    if (same) same.push(row);
    else groups.set(reason, [row]);
  }
  if (groups.get('')?.length === 0) groups.delete('');
  return groups;
}

/**
 * One status: a heading with the count, then its rows. A reason shared by many rows (the usual case: "no strongDM
 * user has this email") is written once above them, in full, so that each row stays one line; when a group has many
 * different reasons they go in a column, cut to one line (the step log and the `plan` output have them in full).
 */
function renderGroup(
  group: (typeof GROUPS)[number],
  rows: ReportRow[],
  withRules: boolean,
  budget: Budget,
): string[] {
  const columns = group.email ? [PERSON, EMAIL, RESOURCE, WHEN] : [PERSON, RESOURCE, WHEN, SOURCE];
  const heading = [`### ${group.mark} ${rows.length} ${group.status}: ${group.about}`, ''];
  budget.spend(heading.join('\n'));
  const reasons = byReason(rows);
  const lines: string[] = [];
  if (reasons.size > MAX_REASON_PARAGRAPHS) {
    lines.push(...table(rows, [PERSON, RESOURCE, REASON], withRules, budget));
  } else {
    for (const [reason, reasonRows] of reasons) {
      const rowsTable = table(reasonRows, columns, withRules, budget);
      if (rowsTable.length === 0) continue;
      if (reason !== '') {
        const paragraph = `Reason: ${forMarkdownCell(reason)}`;
        budget.spend(paragraph);
        lines.push(paragraph, '');
      }
      lines.push(...rowsTable);
    }
  }
  if (group.status === 'unchanged' && rows.length > FOLD_UNCHANGED_OVER && lines.length > 0) {
    return [
      ...heading,
      `<details><summary>Show the ${rows.length} unchanged grants</summary>`,
      '',
      ...lines,
      '</details>',
      '',
    ];
  }
  return [...heading, ...lines];
}

/** Markdown for GITHUB_STEP_SUMMARY, kept under GitHub's 1 MiB limit by leaving out rows with a note. */
export function renderSummary(rows: ReportRow[], context: SummaryContext): string {
  const title = context.dryRun ? 'On-call access (dry run: nothing changed)' : 'On-call access';
  const withRules = rows.some((row) => row.rule !== 'default');
  const legend =
    rows.length === 0
      ? 'All times are UTC.'
      : `All times are UTC. Source: schedule (or escalation policy, for a direct target) · escalation level${withRules ? ' · rule' : ''}.`;
  const head = [
    `## ${title}`,
    '',
    `**${totalsLine(rows)}** for on-calls from ${compactTime(context.now)} over the next ${forHtml(context.lookahead)}.`,
    '',
    legend,
    '',
    // A note may quote an error from GitHub or strongDM: no links, emphasis, mentions or issue references.
    ...context.notes.map((note) => `> ${forMarkdownCell(forLogLine(note, 2000))}`),
    ...(context.notes.length > 0 ? [''] : []),
  ].join('\n');
  // A dry run is how a first run is done: there the checklist comes first.
  const checklist = renderChecklist(context.checks);
  const [before, after] = context.dryRun
    ? [checklist && `\n${checklist}`, '']
    : ['', checklist && `\n${checklist}`];
  if (rows.length === 0) {
    return `${head}${before}\nNobody is on call in the chosen schedules during this window.\n${after}`;
  }

  const timeline = renderTimeline(rows, context);
  const budget = new Budget(SUMMARY_BUDGET_BYTES);
  budget.spend(head + checklist + timeline);
  const groups = GROUPS.flatMap((group) => {
    const groupRows = rows.filter((row) => row.status === group.status);
    return groupRows.length > 0 ? renderGroup(group, groupRows, withRules, budget) : [];
  });
  const note =
    budget.omitted > 0
      ? `> ${budget.omitted} of ${rows.length} rows are not shown to keep this summary under GitHub's 1 MiB limit; ` +
        'the step log and the `plan` output have every row.\n\n'
      : '';
  return `${head}${before}\n${groups.join('\n')}\n${note}${timeline}${after}`;
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

/**
 * The bar of each drawn status: a Mermaid gantt tag, and the colour it is given below. Every bar has a tag, so
 * that its colour depends on nothing else (untagged bars take a colour from the section's position).
 */
const TIMELINE_BARS: Partial<Record<RowStatus, 'active' | 'done' | 'crit'>> = {
  granted: 'active',
  'would-grant': 'active',
  unchanged: 'done',
  stale: 'crit',
};
/**
 * Mermaid 11's gantt styles fill `active` bars with activeTaskBkgColor, `done` with doneTaskBkgColor and `crit` with
 * critBkgColor; text in active and done bars is taskTextDarkColor, in crit bars taskTextColor. The fills match the
 * legend's squares; they are light enough for dark text in GitHub's light and dark themes.
 */
const TIMELINE_THEME = {
  activeTaskBkgColor: '#4ac26b',
  activeTaskBorderColor: '#1a7f37',
  doneTaskBkgColor: '#54aeff',
  doneTaskBorderColor: '#0969da',
  critBkgColor: '#ff8182',
  critBorderColor: '#cf222e',
  taskTextDarkColor: '#1f2328',
  taskTextColor: '#1f2328',
};
export const TIMELINE_LEGEND =
  '🟩 new in this run (or would be, in a dry run) · 🟦 unchanged: held from an earlier run · 🟥 stale: PagerDuty no longer backs it';
const MAX_TIMELINE_TASKS = 100;

function mermaidTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * A Mermaid gantt chart (job summaries render it) of the grants in force or about to be made over the lookahead,
 * one section per resource, in UTC; a legend under it.
 */
export function renderTimeline(rows: ReportRow[], context: SummaryContext): string {
  const start = context.now.getTime();
  const end = start + context.lookaheadMs;
  const bars = rows.filter(
    (row) => row.status in TIMELINE_BARS && row.until.getTime() > start && row.from.getTime() < end,
  );
  if (bars.length === 0) return '';
  // One section per name as shown: two resources that forMermaid makes alike ("a:b", "a b") share it.
  const byResource = new Map<string, ReportRow[]>();
  for (const row of bars.slice(0, MAX_TIMELINE_TASKS)) {
    const section = forMermaid(row.resource);
    const same = byResource.get(section);
    if (same) same.push(row);
    else byResource.set(section, [row]);
  }
  const lines = [
    '```mermaid',
    `%%{init: ${JSON.stringify({ themeVariables: TIMELINE_THEME })}}%%`,
    'gantt',
    `  title Who holds what over the next ${forMermaid(context.lookahead)} (UTC)`,
    '  dateFormat YYYY-MM-DD HH:mm',
    '  axisFormat %a %H:%M',
  ];
  for (const [section, resourceRows] of byResource) {
    lines.push(`  section ${section}`);
    for (const row of resourceRows) {
      const from = Math.max(row.from.getTime(), start);
      const until = Math.max(Math.min(row.until.getTime(), end), from + 60_000);
      lines.push(
        `  ${forGanttTask(row.name)} :${TIMELINE_BARS[row.status]}, ${mermaidTime(from)}, ${mermaidTime(until)}`,
      );
    }
  }
  lines.push('```', '', TIMELINE_LEGEND, '');
  if (bars.length > MAX_TIMELINE_TASKS) {
    lines.push(
      `> The timeline shows the first ${MAX_TIMELINE_TASKS} of ${bars.length} grants; the tables have them all.`,
      '',
    );
  }
  return `${lines.join('\n')}`;
}

/** The log table's columns: every detail, Status first, times in full RFC 3339. */
const LOG_COLUMNS: Array<{ header: string; cell: (row: ReportRow) => string; width?: number }> = [
  { header: 'Status', cell: (row) => row.status },
  { header: 'Person', cell: (row) => row.name },
  { header: 'Email', cell: (row) => row.sdmEmail ?? row.email ?? '' },
  { header: 'Schedule', cell: scheduleLabel },
  { header: 'Level', cell: (row) => String(row.source.escalationLevel) },
  { header: 'Rule', cell: (row) => row.rule },
  { header: 'Resource', cell: (row) => row.resource },
  { header: 'From (UTC)', cell: (row) => rfc3339(row.from) },
  { header: 'Until (UTC)', cell: (row) => rfc3339(row.until) },
  { header: 'Reason', cell: (row) => row.reason, width: 200 },
];

/**
 * The rows as aligned plain text, for the step log. report.ts wraps it in ::stop-commands:: so that no value can
 * act as a workflow command; each line also starts with "|". The Rule column only when rules are in use.
 */
export function renderLogTable(rows: ReportRow[]): string {
  const withRules = rows.some((row) => row.rule !== 'default');
  const columns = LOG_COLUMNS.filter((column) => withRules || column.header !== 'Rule');
  const table = [
    columns.map((c) => c.header),
    ...rows.map((row) => columns.map((c) => forLogLine(c.cell(row), c.width ?? MAX_DISPLAY_CHARS))),
  ];
  const widths = columns.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  return table
    .map((line) => `| ${line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`)
    .join('\n');
}

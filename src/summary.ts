// The job summary (Markdown: rows grouped by status, then a timeline) and the same rows as a plain-text table for
// the step log. Every value that came from PagerDuty or strongDM is untrusted: escaped for Markdown and HTML in the
// summary, stripped of control characters everywhere (a newline in the log could start a workflow command such as
// ::add-mask::).
import { CHECK_MARKS, countChecks, type Check } from './checklist.js';
import { rfc3339 } from './plan.js';
import { forGanttTask, forHtml, forLogLine, forMarkdownCell, forMermaid } from './text.js';
import type { ReportRow, RowStatus } from './types.js';
import { incidentLabel, incidentLink, incidentList, incidentNumber } from './summary-incidents.js';

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

/**
 * An incident grant whose assignee was not found on call (the rule does not require it): level 0 and no schedule
 * say "not required", not a level or a direct target.
 */
function notOnCall(row: ReportRow): boolean {
  return row.source.incident !== undefined && row.source.escalationLevel === 0;
}

function scheduleLabel(row: ReportRow): string {
  if (notOnCall(row)) return '(not on call)';
  return row.source.scheduleId === null
    ? `${row.source.escalationPolicyName} (direct)`
    : row.source.scheduleName || row.source.scheduleId;
}

const RULE_CHARS = 24;
const INCIDENT_SERVICE_CHARS = 16;

/**
 * Why the person has access, in one short Markdown cell: "Platform Primary · L1", or for an incident grant
 * "#123 · Payments API" (see incidentLink); then " · database" (the rule) with rules.
 */
function sourceCell(row: ReportRow, withRules: boolean): string {
  const { incident } = row.source;
  const source =
    incident === undefined
      ? forMarkdownCell(`${forLogLine(scheduleLabel(row), 40)} · L${row.source.escalationLevel}`)
      : [
          incidentLink(incident),
          forMarkdownCell(forLogLine(incident.serviceName || incident.serviceId, INCIDENT_SERVICE_CHARS)),
        ]
          .filter(Boolean)
          .join(' · ');
  return withRules ? `${source} · ${forMarkdownCell(forLogLine(row.rule, RULE_CHARS))}` : source;
}

/** A summary column: its cell is one line of Markdown, every outside value in it escaped. */
interface Column {
  header: string;
  cell: (row: ReportRow, withRules: boolean) => string;
}

/** A column whose cell is plain text, escaped here. */
const textColumn = (header: string, text: (row: ReportRow) => string): Column => ({
  header,
  cell: (row) => forMarkdownCell(text(row)),
});

const PERSON = textColumn('Person', (row) => forLogLine(row.name, 40));
const EMAIL = textColumn('Email', (row) => forLogLine(row.sdmEmail ?? row.email ?? '', 48));
const RESOURCE = textColumn('Resource', (row) => forLogLine(row.resource, 40));
/** The resource, and for an incident grant its number (linked): for tables that have no Source column. */
const RESOURCE_AND_INCIDENT: Column = {
  header: 'Resource',
  cell: (row) => {
    const resource = forMarkdownCell(forLogLine(row.resource, 40));
    const { incident } = row.source;
    return incident === undefined ? resource : `${resource} · ${incidentLink(incident)}`;
  },
};
const WHEN = textColumn('When', (row) => compactRange(row.from, row.until));
const SOURCE: Column = { header: 'Source', cell: sourceCell };
const REASON_CHARS = 64;
const REASON = textColumn('Reason', (row) => forLogLine(row.reason, REASON_CHARS));

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
    .map((row) => `| ${columns.map((c) => c.cell(row, withRules)).join(' | ')} |`)
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
  const columns = group.email
    ? [PERSON, EMAIL, RESOURCE_AND_INCIDENT, WHEN]
    : [PERSON, RESOURCE, WHEN, SOURCE];
  const heading = [`### ${group.mark} ${rows.length} ${group.status}: ${group.about}`, ''];
  budget.spend(heading.join('\n'));
  const reasons = byReason(rows);
  const lines: string[] = [];
  if (reasons.size > MAX_REASON_PARAGRAPHS) {
    lines.push(...table(rows, [PERSON, RESOURCE_AND_INCIDENT, REASON], withRules, budget));
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
  const rule = withRules ? ' · rule' : '';
  const incidents = rows.some((row) => row.source.incident !== undefined)
    ? ` For an incident grant: PagerDuty incident · service${rule}.`
    : '';
  const legend =
    rows.length === 0
      ? 'All times are UTC.'
      : `All times are UTC. Source: schedule (or escalation policy, for a direct target) · escalation level${rule}.${incidents}`;
  const head = [
    `## ${title}`,
    '',
    `**${totalsLine(rows)}** for on-calls from ${compactTime(context.now)} over the next ${forHtml(context.lookahead)}.`,
    '',
    legend,
    '',
    ...incidentList(rows),
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
 * The bar of each drawn status: a Mermaid gantt tag, and the colour it is given below. A bar's colour depends on its
 * tag alone: Mermaid 11 gives untagged bars (class task0…task3, by the section's position) one fill too.
 */
const TIMELINE_BARS: Partial<Record<RowStatus, 'active' | 'done' | 'crit'>> = {
  granted: 'active',
  'would-grant': 'active',
  unchanged: 'done',
  stale: 'crit',
};

/**
 * A row's bar tag, or '' for an untagged bar: an incident grant's bar is untagged (its own colour, taskBkgColor)
 * whether new or held, until it is stale (red, like any stale grant).
 */
function timelineTag(row: ReportRow): string {
  const tag = TIMELINE_BARS[row.status] ?? '';
  return row.source.incident !== undefined && tag !== 'crit' ? '' : tag;
}

/**
 * Mermaid 11's gantt styles fill `active` bars with activeTaskBkgColor, `done` with doneTaskBkgColor, `crit` with
 * critBkgColor and untagged bars (incident grants) with taskBkgColor; text in active and done bars is
 * taskTextDarkColor, in crit and untagged bars taskTextColor. The fills match the legend's squares; they are light
 * enough for dark text in GitHub's light and dark themes.
 */
const TIMELINE_THEME = {
  taskBkgColor: '#c297ff',
  taskBorderColor: '#8250df',
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
/** Added to the legend when the timeline draws an incident grant. */
export const TIMELINE_INCIDENT_LEGEND = '🟪 incident: for an open PagerDuty incident (#number)';
const MAX_TIMELINE_TASKS = 100;

function mermaidTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * The bar's name: the person, and for an incident grant " #123". Not the incident's title: Mermaid would keep
 * little of it (forMermaid), and the tables have it. The number is digits only (incidentNumber), added after the
 * name, so the name's start, which forGanttTask guards, stays as it is; "#" in a task name is plain text to Mermaid.
 */
function ganttTaskName(row: ReportRow): string {
  const { incident } = row.source;
  return incident === undefined
    ? forGanttTask(row.name)
    : `${forGanttTask(row.name)} ${incidentNumber(incident)}`;
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
      const tag = timelineTag(row);
      lines.push(
        `  ${ganttTaskName(row)} :${tag ? `${tag}, ` : ''}${mermaidTime(from)}, ${mermaidTime(until)}`,
      );
    }
  }
  const drawsIncidents = [...byResource.values()].some((resourceRows) =>
    resourceRows.some((row) => row.source.incident !== undefined),
  );
  lines.push(
    '```',
    '',
    drawsIncidents ? `${TIMELINE_LEGEND} · ${TIMELINE_INCIDENT_LEGEND}` : TIMELINE_LEGEND,
    '',
  );
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
  { header: 'Level', cell: (row) => (notOnCall(row) ? '-' : String(row.source.escalationLevel)) },
  { header: 'Rule', cell: (row) => row.rule },
  {
    header: 'Incident',
    cell: (row) => (row.source.incident ? incidentLabel(row.source.incident, 80, 40) : ''),
    width: 130,
  },
  { header: 'Resource', cell: (row) => row.resource },
  { header: 'From (UTC)', cell: (row) => rfc3339(row.from) },
  { header: 'Until (UTC)', cell: (row) => rfc3339(row.until) },
  { header: 'Reason', cell: (row) => row.reason, width: 200 },
];

/**
 * The rows as aligned plain text, for the step log. report.ts wraps it in ::stop-commands:: so that no value can
 * act as a workflow command; each line also starts with "|". The Rule column only when rules are in use, the
 * Incident column only when a row is an incident grant.
 */
export function renderLogTable(rows: ReportRow[]): string {
  const withRules = rows.some((row) => row.rule !== 'default');
  const withIncidents = rows.some((row) => row.source.incident !== undefined);
  const columns = LOG_COLUMNS.filter(
    (column) => (withRules || column.header !== 'Rule') && (withIncidents || column.header !== 'Incident'),
  );
  const table = [
    columns.map((c) => c.header),
    ...rows.map((row) => columns.map((c) => forLogLine(c.cell(row), c.width ?? MAX_DISPLAY_CHARS))),
  ];
  const widths = columns.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  return table
    .map((line) => `| ${line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`)
    .join('\n');
}

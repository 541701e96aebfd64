// @vitest-environment jsdom
// The timeline checked with Mermaid's own parser (GitHub draws job summaries' diagrams with Mermaid 11). Mermaid
// sanitizes titles with DOMPurify, which needs a DOM: hence jsdom for this file only.
import mermaid from 'mermaid';
import { describe, expect, it } from 'vitest';
import { renderSummary, renderTimeline, TIMELINE_INCIDENT_LEGEND, TIMELINE_LEGEND } from './summary.js';
import { forMermaid } from './text.js';
import {
  HOSTILE_INCIDENT_TEXT,
  incidentRef,
  incidentRow,
  reportRow as row,
  summaryContext,
} from '../test/samples.js';
import type { ReportRow } from './types.js';

const context = summaryContext();

/** What Mermaid's gantt db holds after parsing (the parts a hostile name could change). */
interface GanttDb {
  getTasks(): Array<{
    task: string;
    section: string;
    active?: boolean;
    done?: boolean;
    crit?: boolean;
    classes: string[];
    startTime: Date;
    endTime: Date;
  }>;
  getSections(): string[];
  getDateFormat(): string;
  getAxisFormat(): string;
  getDiagramTitle(): string;
  getTodayMarker(): string;
  getTickInterval(): unknown;
  getIncludes(): unknown[];
  getExcludes(): unknown[];
  getLinks(): Map<unknown, unknown>;
  getAccTitle(): string;
  getAccDescription(): string;
}

/** The one ```mermaid block in `markdown`. */
function mermaidBlock(markdown: string): string {
  const blocks = [...markdown.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)];
  expect(blocks).toHaveLength(1);
  return blocks[0]?.[1] ?? '';
}

/** Parses `chart` as GitHub's Mermaid would; throws where it would draw its error picture. */
async function parseGantt(chart: string) {
  const parsed = await mermaid.parse(chart);
  expect(parsed).toMatchObject({ diagramType: 'gantt' });
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(chart);
  const db = diagram.db as unknown as GanttDb;
  const tasks = db.getTasks().map((task) => ({
    name: task.task.trim(),
    section: task.section,
    tag: (['active', 'done', 'crit'] as const).filter((tag) => task[tag]).join(' '),
    from: task.startTime.toISOString(),
    until: task.endTime.toISOString(),
  }));
  return { parsed, db, tasks };
}

/** The statements of a parsed chart that no task or section name may change. */
function statements(db: GanttDb) {
  return {
    title: db.getDiagramTitle(),
    dateFormat: db.getDateFormat(),
    axisFormat: db.getAxisFormat(),
    todayMarker: db.getTodayMarker(),
    tickInterval: db.getTickInterval(),
    includes: db.getIncludes(),
    excludes: db.getExcludes(),
    links: db.getLinks().size,
    accTitle: db.getAccTitle(),
    accDescription: db.getAccDescription(),
  };
}

const EXPECTED_STATEMENTS = {
  title: 'Who holds what over the next 24h (UTC)',
  dateFormat: 'YYYY-MM-DD HH:mm',
  axisFormat: '%a %H:%M',
  todayMarker: '',
  tickInterval: undefined,
  includes: [],
  excludes: [],
  links: 0,
  accTitle: '',
  accDescription: '',
};

const WORD_JOINER = '\u2060';

describe('the timeline, parsed by Mermaid', () => {
  it('draws only grants in force or about to be made, each with its own tag, under fixed colours and a legend', async () => {
    const rows: ReportRow[] = [
      row({ name: 'Ada New', from: new Date('2026-11-26T06:00:00Z') }),
      row({ name: 'Bea Planned', status: 'would-grant', resource: 'bastion' }),
      row({ name: 'Cy Held', status: 'unchanged' } as Partial<ReportRow>),
      row({
        name: 'Dee Stale',
        status: 'stale',
        until: new Date('2026-12-30T00:00:00Z'),
      } as Partial<ReportRow>),
      row({ name: 'Eve Revoked', status: 'revoked' } as Partial<ReportRow>),
      row({ name: 'Fay Skipped', status: 'skipped', sdmEmail: undefined }),
      row({ name: 'Gus Failed', status: 'failed' }),
      row({
        name: 'Hal Later',
        status: 'unchanged',
        from: new Date('2026-11-28T00:00:00Z'),
        until: new Date('2026-11-28T08:00:00Z'),
      } as Partial<ReportRow>),
    ];
    const markdown = renderSummary(rows, context);
    const { parsed, db, tasks } = await parseGantt(mermaidBlock(markdown));

    expect(statements(db)).toEqual(EXPECTED_STATEMENTS);
    expect(db.getSections()).toEqual(['prod-postgres', 'bastion']);
    expect(tasks).toEqual([
      {
        name: 'Ada New',
        section: 'prod-postgres',
        tag: 'active',
        from: '2026-11-26T08:30:00.000Z', // clipped to now
        until: '2026-11-26T17:00:00.000Z',
      },
      {
        name: 'Cy Held',
        section: 'prod-postgres',
        tag: 'done',
        from: '2026-11-26T09:00:00.000Z',
        until: '2026-11-26T17:00:00.000Z',
      },
      {
        name: 'Dee Stale',
        section: 'prod-postgres',
        tag: 'crit',
        from: '2026-11-26T09:00:00.000Z',
        until: '2026-11-27T08:30:00.000Z', // clipped to the lookahead
      },
      {
        name: 'Bea Planned',
        section: 'bastion',
        tag: 'active',
        from: '2026-11-26T09:00:00.000Z',
        until: '2026-11-26T17:00:00.000Z',
      },
    ]);

    // The colours come from the chart itself, so they mean the same in every run: Mermaid fills `active` bars
    // with activeTaskBkgColor, `done` with doneTaskBkgColor and `crit` with critBkgColor.
    expect(parsed.config).toMatchObject({
      themeVariables: {
        activeTaskBkgColor: '#4ac26b', // green: new in this run
        doneTaskBkgColor: '#54aeff', // blue: held from an earlier run
        critBkgColor: '#ff8182', // red: stale
      },
    });
    expect(TIMELINE_LEGEND).toMatch(/^🟩 new in this run[^·]+· 🟦 unchanged[^·]+· 🟥 stale/);
    expect(markdown).toContain(`\`\`\`\n\n${TIMELINE_LEGEND}\n`);
  });

  /** Names Mermaid would read as a gantt statement or a date: the only ones that get the word joiner. */
  const statementLike = [
    'section x',
    'SECTION Upper',
    'title y',
    'dateFormat z',
    'axisFormat %Y',
    'tickInterval 1week',
    'todayMarker off',
    'excludes weekends',
    'includes 2026-11-26',
    'inclusiveEndDates',
    'topAxis',
    'weekday monday',
    'weekend friday',
    'gantt',
    'gantt-chart',
    'click a call b()',
    'call b()',
    'accDescription stolen',
    '2026-11-26 looks like a date',
  ];
  /** Close to a statement but read as names: they need nothing. */
  const nearMisses = ['Titled Person', 'Sectioned', 'Callum Gantt', 'Gantty', 'weekdays only', '12 Monkeys'];
  const hostileNames = [
    ...statementLike,
    'href "https://evil.example"',
    'accTitle: stolen',
    'accDescr { stolen }',
    '%%{init: {"theme": "dark"}}%%',
    '%% a comment',
    ':crit, 2020-01-01 00:00, 2030-01-01 00:00',
    'a: b # c ; d',
    'first line\nsection evil\ngantt',
    '</script><script>alert(1)</script>',
    '```',
    '',
    ' \t ',
    ...nearMisses,
  ];

  it('keeps hostile names as task and section names: no section, statement, directive or link from them', async () => {
    const rows = hostileNames.flatMap((name, i) => [
      row({ name, resource: `r${i}`, pagerdutyUserId: `P${i}` }),
      row({
        name: `n${i}`,
        resource: name,
        pagerdutyUserId: `Q${i}`,
        status: 'unchanged',
      } as Partial<ReportRow>),
    ]);
    const chart = renderTimeline(rows, context);
    const { parsed, db, tasks } = await parseGantt(mermaidBlock(chart));

    expect(parsed.config).not.toHaveProperty('theme'); // the %%{init}%% in a name did not reach the chart
    expect(statements(db)).toEqual(EXPECTED_STATEMENTS);
    // One section per resource name as shown, holding its tasks in order.
    const expected = new Map<string, Array<[string, string]>>();
    for (const r of rows) {
      const section = forMermaid(r.resource);
      const tag = r.status === 'granted' ? 'active' : 'done';
      expected.set(section, [...(expected.get(section) ?? []), [forMermaid(r.name), tag]]);
    }
    expect(db.getSections()).toEqual([...expected.keys()]);
    expect(tasks.map((task) => [task.section, task.name.replace(WORD_JOINER, ''), task.tag])).toEqual(
      [...expected].flatMap(([section, named]) => named.map(([name, tag]) => [section, name, tag])),
    );
    // The joiner is added only where a name needs it.
    const joined = tasks
      .filter((task) => task.name.startsWith(WORD_JOINER))
      .map((task) => task.name.slice(1));
    expect(joined).toContain('section x');
    expect(joined).toContain('2026-11-26 looks like a date');
    for (const name of [...nearMisses, 'n0'])
      expect(tasks.filter((task) => task.name === name)).toHaveLength(1);
  });

  it('needs the word joiner: without it, Mermaid reads such names as statements', async () => {
    const joined: string[] = [];
    for (const name of hostileNames) {
      const chart = mermaidBlock(renderTimeline([row({ name })], context));
      if (!chart.includes(WORD_JOINER)) continue; // a name that needs nothing
      joined.push(name);
      const bare = chart.replaceAll(WORD_JOINER, '');
      const outcome = await parseGantt(bare).then(
        ({ db, tasks }) => ({ statements: statements(db), sections: db.getSections(), tasks: tasks.length }),
        () => 'parse error',
      );
      expect(outcome, name).not.toEqual({
        statements: EXPECTED_STATEMENTS,
        sections: ['prod-postgres'],
        tasks: 1,
      });
    }
    expect(joined).toEqual(statementLike);
  });

  it('parses with many bars, and says when it leaves some out', async () => {
    const rows = Array.from({ length: 130 }, (_, i) =>
      row({ name: `Person ${i}`, resource: `res-${i % 7}`, pagerdutyUserId: `P${i}` }),
    );
    const chart = renderTimeline(rows, context);
    const { tasks, db } = await parseGantt(mermaidBlock(chart));
    expect(tasks).toHaveLength(100);
    expect(db.getSections()).toHaveLength(7);
    expect(chart).toContain('The timeline shows the first 100 of 130 grants');
  });

  it('draws incident grants in their own colour, named by person and number, whatever the incident says', async () => {
    const hostile = [...HOSTILE_INCIDENT_TEXT, ...hostileNames];
    const rows = hostile.flatMap((text, i) => {
      const incident = incidentRef({ number: 100 + i, title: text, serviceName: text, serviceId: text });
      return [
        incidentRow({ name: text, pagerdutyUserId: `P${i}` }, incident),
        incidentRow(
          {
            name: `n${i}`,
            pagerdutyUserId: `Q${i}`,
            status: 'unchanged',
            resource: text,
          } as Partial<ReportRow>,
          incident,
        ),
        incidentRow(
          { name: `s${i}`, pagerdutyUserId: `S${i}`, status: 'stale' } as Partial<ReportRow>,
          incident,
        ),
      ];
    });
    // Three bars per text, so charts of 99 bars: every bar is drawn (the timeline draws 100 at most).
    for (let first = 0; first < rows.length; first += 99) {
      const drawn = rows.slice(first, first + 99);
      const markdown = renderSummary(drawn, context);
      const { parsed, db, tasks } = await parseGantt(mermaidBlock(markdown));

      expect(parsed.config).not.toHaveProperty('theme');
      expect(parsed.config).toMatchObject({
        themeVariables: { taskBkgColor: '#c297ff' }, // purple: untagged bars, the incident grants
      });
      expect(statements(db)).toEqual(EXPECTED_STATEMENTS); // no click, title, dateFormat… from a title or service
      expect(db.getSections()).toEqual([...new Set(drawn.map((r) => forMermaid(r.resource)))]);
      expect(tasks).toHaveLength(drawn.length);
      const expected = new Map<string, Array<[string, string]>>();
      for (const r of drawn) {
        const section = forMermaid(r.resource);
        const tag = r.status === 'stale' ? 'crit' : ''; // new or held, an incident grant is untagged
        const name = `${forMermaid(r.name)} #${r.source.incident?.number}`;
        expected.set(section, [...(expected.get(section) ?? []), [name, tag]]);
      }
      expect(tasks.map((task) => [task.section, task.name.replace(WORD_JOINER, ''), task.tag])).toEqual(
        [...expected].flatMap(([section, named]) => named.map(([name, tag]) => [section, name, tag])),
      );
      // The bars span the grant, not a date read from a title.
      for (const task of tasks) {
        expect([task.from, task.until]).toEqual(['2026-11-26T09:00:00.000Z', '2026-11-26T11:00:00.000Z']);
      }
      expect(markdown).toContain(`\`\`\`\n\n${TIMELINE_LEGEND} · ${TIMELINE_INCIDENT_LEGEND}\n`);
    }
  });

  it('keeps the title and service of an incident out of the chart', async () => {
    const chart = mermaidBlock(
      renderTimeline(
        [
          incidentRow({}, incidentRef({ title: 'Checkout down', serviceName: 'Payments API' })),
          incidentRow({ name: 'Bob' }, incidentRef({ number: Number.NaN })), // a tampered ledger's number
        ],
        context,
      ),
    );
    expect(chart).not.toMatch(/Checkout|Payments/);
    const { tasks } = await parseGantt(chart);
    expect(tasks.map((task) => [task.name, task.tag])).toEqual([
      ['Ada Lovelace #123', ''],
      ['Bob #?', ''],
    ]);
  });
});

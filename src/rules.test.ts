import { describe, expect, it } from 'vitest';
import { parseList, parseUserMap, readRules } from './rules.js';

/** readRules over these inputs and workspace files; its problems with it. */
function rulesFrom(values: Record<string, string>, files: Record<string, string> = {}) {
  const problems: string[] = [];
  const read = readRules(
    (name) => values[name] ?? '',
    (file) => {
      if (!(file in files)) throw new Error('ENOENT: no such file');
      return files[file] as string;
    },
    problems,
  );
  return { ...read, problems };
}

describe('parseList', () => {
  it('splits on commas and newlines, trims, drops empties and repeats', () => {
    expect(parseList(' A, B\n\nC,,A \r\n')).toEqual(['A', 'B', 'C']);
    expect(parseList('')).toEqual([]);
  });
});

describe('schedule-ids', () => {
  it("accepts PagerDuty's literal null for direct targets, but not other words with spaces", () => {
    expect(rulesFrom({ 'schedule-ids': 'PABC123,null', resources: 'db' }).rules[0]?.schedules).toEqual([
      'PABC123',
      'null',
    ]);
    expect(rulesFrom({ 'schedule-ids': 'null schedule', resources: 'db' }).problems[0]).toMatch(
      /^schedule-ids/,
    );
  });
});

describe('readRules', () => {
  const rulesYaml = [
    '- name: databases',
    '  schedules: [PDBONCL]',
    '  escalation-levels: [1]',
    '  resources: [prod-db, replica-db]',
    '- name: platform',
    '  escalation-policies: [PEPPLAT]',
    '  resources: [bastion]',
  ].join('\n');

  it('reads rules inline or from a workspace file', () => {
    const inline = rulesFrom({ rules: rulesYaml });
    expect(inline.simpleMode).toBe(false);
    expect(
      inline.rules.map((r) => [r.name, r.schedules, r.escalationPolicies, r.escalationLevels, r.resources]),
    ).toEqual([
      ['databases', ['PDBONCL'], [], [1], ['prod-db', 'replica-db']],
      ['platform', [], ['PEPPLAT'], [], ['bastion']],
    ]);
    expect(
      rulesFrom({ rules: '.github/oncall.yml' }, { '.github/oncall.yml': rulesYaml }).rules,
    ).toHaveLength(2);
    expect(rulesFrom({ rules: 'missing.yaml' }).problems[0]).toMatch(/^rules: cannot read "missing.yaml"/);
  });

  it('refuses rules together with simple mode', () => {
    expect(rulesFrom({ 'schedule-ids': 'PABC123', resources: 'db', rules: rulesYaml }).problems).toEqual([
      expect.stringMatching(/^rules cannot be combined with schedule-ids/),
    ]);
  });

  it('names the rule and line of a bad rule, and the line of bad YAML', () => {
    const { problems } = rulesFrom({
      rules: '- name: db\n  schedules: [PDB]\n  resource: [x]\n- name: web\n  resources: [web]\n',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/rule "db" \(line 1\): unknown key "resource"/),
        expect.stringMatching(/rule "db" \(line 1\): resources is required/),
        expect.stringMatching(/rule "web" \(line 4\): give schedules or escalation-policies/),
      ]),
    );
    expect(rulesFrom({ rules: '- name: [unclosed\n' }).problems[0]).toMatch(/invalid YAML at line \d/);
    expect(rulesFrom({ rules: 'name: x' }).problems[0]).toMatch(/expected a YAML list/);
    expect(
      rulesFrom({ rules: '- {name: a, schedules: [P1], escalation-levels: [0], resources: [--x]}' }).problems,
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/escalation-levels "0"/),
        expect.stringMatching(/resource "--x" starts with "-"/),
      ]),
    );
  });

  it('reads user-map lines and names bad ones', () => {
    const { userMap } = parseUserMap(
      'Ada@Example.com: ada.l@corp.example\nPBOB001: bob@corp.example\n# comment\n',
    );
    expect([...userMap]).toEqual([
      ['ada@example.com', 'ada.l@corp.example'],
      ['pbob001', 'bob@corp.example'],
    ]);
    expect(parseUserMap('ada@example.com ada@corp.example').problems[0]).toMatch(/^user-map line 1/);
    expect(parseUserMap('a@x.y: --not-an-email').problems[0]).toMatch(/^user-map line 1: .* not an email/);
  });
});

describe('incident rules', () => {
  const incidentRule = (extra: string[]) =>
    rulesFrom({ rules: ['- name: responders', '  resources: [prod-db-write]', ...extra].join('\n') });

  it('reads incidents with their defaults: both urgencies, both open statuses, 2h, on call required', () => {
    const { rules, problems } = incidentRule(['  incidents: { services: [PSVC123, PSVC456, PSVC123] }']);
    expect(problems).toEqual([]);
    expect(rules[0]?.incidents).toEqual({
      services: ['PSVC123', 'PSVC456'],
      urgencies: ['high', 'low'],
      statuses: ['triggered', 'acknowledged'],
      windowMs: 2 * 3_600_000,
      requireOnCall: true,
    });
    expect(rules[0]?.schedules).toEqual([]);
  });

  it('reads urgencies, statuses, incident-window and require-on-call as given', () => {
    const { rules, problems } = incidentRule([
      '  incidents:',
      '    services: PSVC123',
      '    urgencies: [high]',
      '    statuses: [acknowledged]',
      '  incident-window: 45m',
      '  require-on-call: false',
    ]);
    expect(problems).toEqual([]);
    expect(rules[0]?.incidents).toEqual({
      services: ['PSVC123'],
      urgencies: ['high'],
      statuses: ['acknowledged'],
      windowMs: 45 * 60_000,
      requireOnCall: false,
    });
  });

  it.each([
    [['  incidents: { urgencies: [high] }'], /incidents\.services is required/],
    [['  incidents:'], /incidents needs services/],
    [['  incidents: [PSVC123]'], /incidents must be a mapping/],
    [['  incidents: { services: [PSVC123], team: [P1] }'], /unknown key "incidents\.team"/],
    [['  incidents: { services: ["not an id"] }'], /"not an id" is not a PagerDuty ID/],
    [['  incidents: { services: [PSVC123], urgencies: [critical] }'], /"critical" is not one of high, low/],
    [
      ['  incidents: { services: [PSVC123], statuses: [resolved] }'],
      /not one of triggered, acknowledged \(a resolved incident gives no access\)/,
    ],
    [['  incidents: { services: [PSVC123] }', '  incident-window: 1m'], /from 5m to 1d/],
    [['  incidents: { services: [PSVC123] }', '  incident-window: soon'], /incident-window "soon"/],
    [
      ['  incidents: { services: [PSVC123] }', '  incident-window: [30m]'],
      /incident-window must be one duration/,
    ],
    [['  incidents: { services: [PSVC123] }', '  incident-window:'], /incident-window must be one duration/],
    [['  incidents: { services: [PSVC123], urgencies: [] }'], /incidents\.urgencies is empty; leave it out/],
    [['  incidents: { services: [PSVC123], statuses: [] }'], /incidents\.statuses is empty; leave it out/],
    [
      ['  incidents: { services: [PSVC123] }', '  require-on-call: "no"'],
      /require-on-call must be true or false/,
    ],
    [
      ['  incidents: { services: [PSVC123] }', '  schedules: [PABC123]'],
      /an incident rule cannot also have schedules/,
    ],
    [['  schedules: [PABC123]', '  incident-window: 1h'], /belong to a rule with incidents/],
  ])('refuses %j, naming the rule and the fix', (extra, problem) => {
    const { problems } = incidentRule(extra);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^rules \(inline\): rule "responders" \(line 1\): /);
    expect(problems[0]).toMatch(problem);
  });

  it('a rule with neither schedules, policies nor incidents names all three', () => {
    expect(incidentRule([]).problems).toEqual([
      'rules (inline): rule "responders" (line 1): give schedules or escalation-policies (or both) to say whose on-calls it covers, or incidents',
    ]);
  });
});

describe('incident rules: one mistake, one problem', () => {
  it.each([
    [
      '  incidents: { services: [PSVC123], urgencies: [{ a: 1 }] }',
      /urgencies must be a list of plain values/,
    ],
    [
      '  incidents: { services: [PSVC123], statuses: [[triggered]] }',
      /statuses must be a list of plain values/,
    ],
  ])('%s', (line, problem) => {
    const problems: string[] = [];
    readRules(
      (name) => (name === 'rules' ? ['- name: r', '  resources: [db]', line].join('\n') : ''),
      () => '',
      problems,
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });
});

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

import { describe, expect, it } from 'vitest';
import {
  END_MARGIN_MS,
  LOOKAHEAD_MS,
  MAX_GRANT_MS,
  SIZES,
  START_MARGIN_MS,
  makeCompany,
  split,
} from './company.mjs';

const NOW = Date.parse('2026-11-26T09:00:30Z');

describe('split', () => {
  it('splits evenly, larger parts first', () => {
    expect(split(150, 3)).toEqual([50, 50, 50]);
    expect(split(40, 3)).toEqual([14, 13, 13]);
    expect(split(10, 4).reduce((a, b) => a + b, 0)).toBe(10);
  });
});

describe.each(SIZES)('a company of $rows rows', (size) => {
  const company = makeCompany({ ...size, now: NOW });
  const schedules = company.seed.pagerduty.schedules;

  it('has exactly that many shifts, people and schedules', () => {
    expect(company.expected).toHaveLength(size.rows);
    expect(schedules.flatMap((s) => s.entries)).toHaveLength(size.rows);
    expect(schedules).toHaveLength(size.schedules);
    expect(company.seed.pagerduty.users).toHaveLength(size.people);
  });

  it('puts every shift inside the lookahead, shorter than max-grant-duration', () => {
    for (const row of company.expected) {
      const start = Date.parse(row.start);
      const end = Date.parse(row.end);
      expect(start).toBeGreaterThanOrEqual(NOW + START_MARGIN_MS - 60_000);
      expect(end).toBeLessThanOrEqual(NOW + LOOKAHEAD_MS - END_MARGIN_MS + 60_000);
      expect(end - start).toBeGreaterThan(0);
      expect(end - start).toBeLessThan(MAX_GRANT_MS);
    }
  });

  it('never gives one person two shifts that touch or overlap (so one row is one grant)', () => {
    const byPerson = new Map<string, Array<[number, number]>>();
    for (const row of company.expected) {
      const list = byPerson.get(row.email) ?? [];
      list.push([Date.parse(row.start), Date.parse(row.end)]);
      byPerson.set(row.email, list);
    }
    for (const shifts of byPerson.values()) {
      shifts.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < shifts.length; i++) expect(shifts[i]![0]).toBeGreaterThan(shifts[i - 1]![1]);
    }
  });

  it('keeps every person on one schedule, each schedule alone in one policy', () => {
    const scheduleOf = new Map<string, string>();
    for (const row of company.expected) {
      expect(scheduleOf.get(row.userId) ?? row.scheduleId).toBe(row.scheduleId);
      scheduleOf.set(row.userId, row.scheduleId);
    }
    const targets = company.seed.pagerduty.escalationPolicies.flatMap((p) =>
      p.levels.flatMap((l) => l.targets),
    );
    expect(targets.map((t) => t.id).sort()).toEqual(company.scheduleIds.slice().sort());
  });

  it('gives every person a strongDM user and names the resource that exists', () => {
    const emails = new Set(company.seed.strongdm.users.map((u) => u.email));
    for (const row of company.expected) expect(emails.has(row.email)).toBe(true);
    expect(company.seed.strongdm.resources.map((r) => r.name)).toEqual([company.resource]);
    expect(company.inputs['schedule-ids'].split(', ')).toEqual(company.scheduleIds);
    expect(company.inputs.resources).toBe(company.resource);
  });
});

it('refuses sizes that cannot keep one row one grant', () => {
  expect(() => makeCompany({ rows: 10, schedules: 3, people: 5, now: NOW })).toThrow(RangeError);
  expect(() => makeCompany({ rows: 0, schedules: 1, people: 2, now: NOW })).toThrow(RangeError);
  expect(() => makeCompany({ rows: 100_000, schedules: 1, people: 2, now: NOW })).toThrow(RangeError);
});

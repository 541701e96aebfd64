import { describe, expect, it } from 'vitest';
import {
  commandArgumentProblem,
  forErrorDetail,
  forGanttTask,
  forHtml,
  forLogLine,
  forMarkdownCell,
} from './text.js';

describe('text for each target', () => {
  it('escapes HTML and table pipes', () => {
    expect(forHtml(`<img src=x onerror="alert(1)"> & 'a|b'`)).toBe(
      '&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#39;a&#124;b&#39;',
    );
  });

  it('escapes Markdown inline syntax and pipes in table cells', () => {
    expect(forMarkdownCell('*bold* _x_ `code` [a](http://x) ~s~ a|b \\')).toBe(
      '\\*bold\\* \\_x\\_ \\`code\\` \\[a\\](http&#58;//x) \\~s\\~ a&#124;b \\\\',
    );
  });

  it('flattens control characters and shortens long text for display', () => {
    expect(forLogLine('a\nb\r\n::error::x\u0000')).toBe('a b ::error::x');
    expect(forLogLine('x ##[add-mask]y')).toBe('x ##\u2060[add-mask]y');
    expect(forLogLine('##\u200b[error]')).toBe('## [error]');
    const long = forLogLine('x'.repeat(5000));
    expect(long).toHaveLength(80);
    expect(long.endsWith('…')).toBe(true);
  });

  it('makes an error detail one line that is no workflow command, then cuts it', () => {
    expect(forErrorDetail('upstream\n::set-output name=granted::999')).toBe(
      'upstream ::set-output name=granted::999',
    );
    expect(forErrorDetail('##[set-output name=granted;]999')).toBe('##\u2060[set-output name=granted;]999');
    expect(forErrorDetail('\r\n::add-mask::x')).toBe(':\u2060:add-mask::x');
    expect(forErrorDetail('a\u0000b\u200bc\u2028d\u001b[31m')).toBe('a b c d [31m');
    const long = forErrorDetail('y'.repeat(1000));
    expect(long).toHaveLength(300);
    expect(long.endsWith('...')).toBe(true);
  });

  it('keeps GitHub from turning cell text into mentions, issue links or emoji', () => {
    const wj = '\u2060';
    expect(forMarkdownCell('ping @octocat and @acme/team')).toBe(`ping @${wj}octocat and @${wj}acme/team`);
    expect(forMarkdownCell('ada@example.com')).toBe('ada@example.com');
    expect(forMarkdownCell('fixes #123, GH-7 and acme/ops#9')).toBe(
      `fixes #${wj}123, GH-${wj}7 and acme/ops#${wj}9`,
    );
    expect(forMarkdownCell(':rocket: :+1: :1st_place_medal:')).toBe(
      `:${wj}rocket: :${wj}+1: :${wj}1st\\_place\\_medal:`,
    );
    expect(forMarkdownCell('2026-11-26T08:30:00Z a|b')).toBe('2026-11-26T08:30:00Z a&#124;b');
    expect(forMarkdownCell('http://x')).toBe('http&#58;//x');
  });
});

describe('forGanttTask', () => {
  it('puts a word joiner before a name that starts like a gantt statement, and only there', () => {
    expect(forGanttTask('section x')).toBe('\u2060section x');
    expect(forGanttTask('Title: y')).toBe('\u2060Title y');
    expect(forGanttTask('2026-11-26 z')).toBe('\u20602026-11-26 z');
    expect(forGanttTask('gantt-chart')).toBe('\u2060gantt-chart'); // "-" ends a word for the lexer
    expect(forGanttTask('Sectioned')).toBe('Sectioned');
    expect(forGanttTask('12 Monkeys')).toBe('12 Monkeys');
    expect(forGanttTask('Ada: #1 %%{init}%%')).toBe('Ada 1 init');
  });
});

describe('commandArgumentProblem', () => {
  it('refuses flags, whitespace and control characters', () => {
    expect(commandArgumentProblem('prod-postgres')).toBeUndefined();
    expect(commandArgumentProblem('--admin-token=x')).toMatch(/flag/);
    expect(commandArgumentProblem('a b@c.d')).toMatch(/whitespace/);
    expect(commandArgumentProblem('a\u0000b')).toMatch(/control/);
    expect(commandArgumentProblem('a\u200bb')).toMatch(/control/);
    expect(commandArgumentProblem('')).toMatch(/empty/);
  });
});

import { describe, expect, it } from 'vitest';
import { commandArgumentProblem, forHtml, forLogLine, forMarkdownCell } from './text.js';

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

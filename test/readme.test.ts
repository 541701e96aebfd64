// The README's workflow is what users copy: it must be the example that lint:workflows checks, word for word.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

describe('README', () => {
  it('shows examples/oncall-access.yml as it is under Usage', () => {
    const readme = read('README.md');
    const usage = readme.slice(readme.indexOf('\n## Usage\n'));
    const block = /```yaml\n([\s\S]*?)```\n/.exec(usage)?.[1];
    expect(block).toBe(read('examples/oncall-access.yml'));
  });
});

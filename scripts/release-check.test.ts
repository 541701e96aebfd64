import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkRelease,
  compareVersions,
  isNewestRelease,
  majorTagMove,
  parseChangelog,
  parseReleaseTag,
  REUSABLE_WORKFLOW,
  reusableWorkflowProblems,
} from './release-check.mjs';

const changelog = [
  '# Changelog',
  '',
  'Intro text.',
  '',
  '## [Unreleased]',
  '',
  '## [1.2.0] - 2026-12-24',
  '',
  '### Added',
  '',
  '- Something new.',
  '',
  '## [1.1.0] - 2026-12-01',
  '',
  '### Fixed',
  '',
  '- Something broken.',
  '',
  '[unreleased]: https://github.com/acme/oncall-access/compare/v1.2.0...HEAD',
  '[1.2.0]: https://github.com/acme/oncall-access/releases/tag/v1.2.0',
  '[1.1.0]: https://github.com/acme/oncall-access/releases/tag/v1.1.0',
  '',
].join('\n');

const lockVersions = (version: string) => ({ version, 'packages[""].version': version });

describe('parseReleaseTag', () => {
  it('reads vMAJOR.MINOR.PATCH', () => {
    expect(parseReleaseTag('v1.20.3')).toEqual({ major: 1, minor: 20, patch: 3, version: '1.20.3' });
    expect(parseReleaseTag('v0.0.0').version).toBe('0.0.0');
  });

  it.each(['1.0.0', 'v1', 'v1.0', 'v1.0.0-rc.1', 'v1.0.0+build', 'v01.0.0', 'v1.0.0 ', 'V1.0.0', 'xv1.0.0'])(
    'refuses %j',
    (tag) => {
      expect(() => parseReleaseTag(tag)).toThrow(/is not a release tag vMAJOR\.MINOR\.PATCH/);
    },
  );
});

describe('compareVersions', () => {
  it('compares numerically, part by part', () => {
    expect(compareVersions('1.10.0', '1.9.9')).toBeGreaterThan(0);
    expect(compareVersions('1.9.9', '1.10.0')).toBeLessThan(0);
    expect(compareVersions('2.0.0', '1.99.99')).toBeGreaterThan(0);
    expect(compareVersions('1.0.10', '1.0.2')).toBeGreaterThan(0);
    expect(compareVersions('1.2.3', '1.2.3')).toBe(0);
  });

  it('refuses what is not a version', () => {
    expect(() => compareVersions('1.2', '1.2.0')).toThrow('"1.2" is not a version');
  });
});

describe('parseChangelog', () => {
  it('returns the sections in file order with their bodies, without the closing link definitions', () => {
    const sections = parseChangelog(changelog);
    expect(sections.map(({ kind, version, date }) => ({ kind, version, date }))).toEqual([
      { kind: 'unreleased', version: null, date: null },
      { kind: 'release', version: '1.2.0', date: '2026-12-24' },
      { kind: 'release', version: '1.1.0', date: '2026-12-01' },
    ]);
    expect(sections[0]!.body).toBe('');
    expect(sections[1]!.body).toBe('### Added\n\n- Something new.');
    expect(sections[2]!.body).toBe('### Fixed\n\n- Something broken.');
    expect(sections[1]!.line).toBe(7);
  });

  it('keeps a link definition inside a body, and reads CRLF, unbracketed and [YANKED] headings', () => {
    const text =
      '## 1.0.1 - 2026-01-02 [YANKED]\r\n\r\n- See [the docs][docs].\r\n\r\n[docs]: https://example.com/docs\r\n\r\n' +
      '- After the link.\r\n';
    const [section] = parseChangelog(text);
    expect(section).toMatchObject({ version: '1.0.1', yanked: true });
    expect(section!.body).toBe(
      '- See [the docs][docs].\n\n[docs]: https://example.com/docs\n\n- After the link.',
    );
  });

  it('names every heading it cannot read and every impossible date', () => {
    const text = '## [1.0.0] 2026-11-30\n\n## [0.9.0] - 2026-02-30\n\n## Notes\n';
    expect(() => parseChangelog(text)).toThrow(
      [
        'CHANGELOG.md line 1: "## [1.0.0] 2026-11-30" is neither "## [Unreleased]" nor "## [X.Y.Z] - YYYY-MM-DD"',
        'CHANGELOG.md line 3: "2026-02-30" is not a date YYYY-MM-DD',
        'CHANGELOG.md line 5: "## Notes" is neither "## [Unreleased]" nor "## [X.Y.Z] - YYYY-MM-DD"',
      ].join('\n'),
    );
  });
});

describe('checkRelease', () => {
  it('returns the top entry as the notes when tag, package.json, the lock file and CHANGELOG agree', () => {
    const result = checkRelease({
      tag: 'v1.2.0',
      packageVersion: '1.2.0',
      lockVersions: lockVersions('1.2.0'),
      changelog,
    });
    expect(result).toEqual({
      problems: [],
      warnings: [],
      version: '1.2.0',
      date: '2026-12-24',
      notes: '### Added\n\n- Something new.',
    });
  });

  it('names every disagreement at once', () => {
    const result = checkRelease({
      tag: 'v1.1.0',
      packageVersion: '1.0.0',
      lockVersions: { version: '1.1.0', 'packages[""].version': '0.1.0' },
      changelog,
    });
    expect(result.problems).toEqual([
      'package.json has version "1.0.0", the tag says 1.1.0',
      'package-lock.json packages[""].version is "0.1.0", the tag says 1.1.0',
      "CHANGELOG.md's top released entry is 1.2.0 (line 7), the tag says 1.1.0 (1.1.0 is further down)",
    ]);
    expect(result.notes).toBeUndefined();
  });

  it('refuses a tag that is not vX.Y.Z, and a CHANGELOG without the entry', () => {
    expect(
      checkRelease({ tag: 'v1.3', packageVersion: '1.3.0', lockVersions: {}, changelog }).problems,
    ).toEqual(['tag "v1.3" is not a release tag vMAJOR.MINOR.PATCH (e.g. v1.0.0)']);
    expect(
      checkRelease({ tag: 'v1.3.0', packageVersion: '1.3.0', lockVersions: {}, changelog }).problems,
    ).toEqual(["CHANGELOG.md's top released entry is 1.2.0 (line 7), the tag says 1.3.0"]);
    expect(
      checkRelease({ tag: 'v1.0.0', packageVersion: '1.0.0', lockVersions: {}, changelog: '# Changelog\n' })
        .problems,
    ).toEqual(['CHANGELOG.md has no released entry "## [1.0.0] - YYYY-MM-DD"']);
  });

  it('refuses an empty, a yanked or a repeated entry', () => {
    const release = (text: string) =>
      checkRelease({ tag: 'v2.0.0', packageVersion: '2.0.0', lockVersions: {}, changelog: text }).problems;
    expect(release('## [2.0.0] - 2027-01-01\n\n## [1.0.0] - 2026-11-30\n\n- x\n')).toEqual([
      "CHANGELOG.md's entry for 2.0.0 (line 1) is empty: it is the release notes",
    ]);
    expect(release('## [2.0.0] - 2027-01-01 [YANKED]\n\n- x\n')).toEqual([
      'CHANGELOG.md marks 2.0.0 as [YANKED]',
    ]);
    expect(release('## [2.0.0] - 2027-01-01\n\n- x\n\n## [2.0.0] - 2026-12-01\n\n- y\n')).toEqual([
      'CHANGELOG.md has 2 entries for 2.0.0',
    ]);
  });

  it('reports an unreadable heading beside the missing entry, and warns about a non-empty [Unreleased] section', () => {
    expect(
      checkRelease({ tag: 'v1.2.0', packageVersion: '1.2.0', lockVersions: {}, changelog: '## Notes\n' })
        .problems,
    ).toEqual([
      'CHANGELOG.md line 1: "## Notes" is neither "## [Unreleased]" nor "## [X.Y.Z] - YYYY-MM-DD"',
      'CHANGELOG.md has no released entry "## [1.2.0] - YYYY-MM-DD"',
    ]);
    const pending = changelog.replace('## [Unreleased]\n', '## [Unreleased]\n\n- Not released yet.\n');
    const result = checkRelease({
      tag: 'v1.2.0',
      packageVersion: '1.2.0',
      lockVersions: {},
      changelog: pending,
    });
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([
      "CHANGELOG.md's [Unreleased] section is not empty; what it lists is not in 1.2.0",
    ]);
  });
});

describe('majorTagMove', () => {
  it('moves v1 to the newest 1.x.y release, also the first one', () => {
    expect(majorTagMove('v1.0.0', [])).toEqual({
      majorTag: 'v1',
      move: true,
      reason: 'v1.0.0 is the newest v1.x.y release; v1 moves to it',
    });
    expect(
      majorTagMove('v1.2.0', ['refs/tags/v1.0.0', 'refs/tags/v1.1.0', 'refs/tags/v1', 'v1.2.0']).move,
    ).toBe(true);
  });

  it('never moves v1 backwards: a v1.0.1 fix after v1.2.0 leaves v1 on v1.2.0', () => {
    expect(majorTagMove('v1.0.1', ['v1', 'v1.0.0', 'v1.0.1', 'v1.2.0', 'v1.10.0', 'v1.9.0'])).toEqual({
      majorTag: 'v1',
      move: false,
      reason: 'v1.10.0 is newer than v1.0.1; v1 stays where it is',
    });
  });

  it('compares only releases of the same major, and ignores tags that are not vX.Y.Z', () => {
    expect(majorTagMove('v1.3.0', ['v2.0.0', 'v1.2.0', 'v1.4.0-rc.1', 'v1.9', 'latest', ''])).toMatchObject({
      majorTag: 'v1',
      move: true,
    });
    expect(majorTagMove('v2.0.0', ['v1.9.0'])).toMatchObject({ majorTag: 'v2', move: true });
  });
});

describe('isNewestRelease', () => {
  it('is true only when no release tag of any major is newer', () => {
    expect(isNewestRelease('v1.0.0', [])).toBe(true);
    expect(
      isNewestRelease('v1.2.0', ['refs/tags/v1.2.0', 'refs/tags/v1.1.0', 'refs/tags/v1', 'v3.0.0-rc.1']),
    ).toBe(true);
    expect(isNewestRelease('v2.0.0', ['v1.9.0'])).toBe(true);
    expect(isNewestRelease('v1.9.1', ['v1.9.0', 'v2.0.0'])).toBe(false);
    expect(isNewestRelease('v1.0.1', ['refs/tags/v1.0.10'])).toBe(false);
  });
});

describe('reusableWorkflowProblems', () => {
  const workflow = (uses: string) =>
    [
      'jobs:',
      '  grant:',
      '    steps:',
      '      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0',
      `      - uses: ${uses}`,
      '        id: access',
    ].join('\n');

  it("accepts the action named as this repository at the tag's major", () => {
    expect(reusableWorkflowProblems(workflow('ops/oncall-access@v2'), 'ops/oncall-access', 2)).toEqual([]);
  });

  it('refuses a placeholder owner, another major, and a workflow that does not name the action', () => {
    expect(reusableWorkflowProblems(workflow('acme/oncall-access@v1'), 'ops/oncall-access', 1)).toEqual([
      `${REUSABLE_WORKFLOW} uses acme/oncall-access@v1; a release of ops/oncall-access v1 must use ops/oncall-access@v1`,
    ]);
    expect(reusableWorkflowProblems(workflow("'ops/oncall-access@v1'"), 'ops/oncall-access', 2)).toEqual([
      `${REUSABLE_WORKFLOW} uses ops/oncall-access@v1; a release of ops/oncall-access v2 must use ops/oncall-access@v2`,
    ]);
    expect(reusableWorkflowProblems(workflow('./'), 'ops/oncall-access', 1)).toEqual([
      `${REUSABLE_WORKFLOW} does not use ops/oncall-access@v1`,
    ]);
  });

  it('ignores other actions and a call of the reusable workflow itself', () => {
    const text = `${workflow('ops/oncall-access@v1')}\n      - uses: ops/oncall-access/.github/workflows/x.yml@main`;
    expect(reusableWorkflowProblems(text, 'ops/oncall-access', 1)).toEqual([]);
  });

  it('holds for the reusable workflow in this repository, as the release of acme/oncall-access v1', () => {
    const text = readFileSync(new URL(`../${REUSABLE_WORKFLOW}`, import.meta.url), 'utf8');
    expect(reusableWorkflowProblems(text, 'acme/oncall-access', 1)).toEqual([]);
  });
});

describe('release-check.mjs as a program', () => {
  let folder = '';
  afterEach(() => {
    if (folder) rmSync(folder, { recursive: true, force: true });
    folder = '';
  });

  // A copy of the script beside its own package.json, lock file and CHANGELOG: the program reads the files of
  // the repository it sits in.
  function repository(version: string, text: string): string {
    folder = mkdtempSync(join(tmpdir(), 'release-check-'));
    mkdirSync(join(folder, 'scripts'));
    cpSync(new URL('./release-check.mjs', import.meta.url), join(folder, 'scripts', 'release-check.mjs'));
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'x', version }));
    writeFileSync(
      join(folder, 'package-lock.json'),
      JSON.stringify({ name: 'x', version, packages: { '': { version } } }),
    );
    writeFileSync(join(folder, 'CHANGELOG.md'), text);
    return folder;
  }

  function run(root: string, args: string[], env: Record<string, string> = {}) {
    try {
      const stdout = execFileSync(process.execPath, [join(root, 'scripts', 'release-check.mjs'), ...args], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', ...env },
      });
      return { status: 0, stdout };
    } catch (error) {
      const failed = error as { status: number; stdout: string };
      return { status: failed.status, stdout: failed.stdout };
    }
  }

  it('writes the notes and the major tag decision for the workflow', () => {
    const root = repository('1.0.1', changelog.replace('## [1.2.0] - 2026-12-24', '## [1.0.1] - 2026-12-24'));
    writeFileSync(
      join(root, 'tags.txt'),
      'refs/tags/v1\nrefs/tags/v1.0.0\nrefs/tags/v1.1.0\nrefs/tags/v1.0.1\n',
    );
    writeFileSync(join(root, 'output.txt'), '');
    const { status, stdout } = run(
      root,
      ['v1.0.1', '--notes-file', join(root, 'notes.md'), '--existing-tags', join(root, 'tags.txt')],
      { GITHUB_OUTPUT: join(root, 'output.txt') },
    );
    expect(status).toBe(0);
    expect(readFileSync(join(root, 'notes.md'), 'utf8')).toBe('### Added\n\n- Something new.\n');
    expect(readFileSync(join(root, 'output.txt'), 'utf8')).toBe(
      'major-tag=v1\nmove-major-tag=false\nlatest=false\n',
    );
    expect(stdout).toContain('v1.1.0 is newer than v1.0.1; v1 stays where it is');
  });

  it('prints the notes without --notes-file, and fails with one ::error:: line per problem', () => {
    const root = repository('1.2.0', changelog);
    const passed = run(root, ['v1.2.0']);
    expect(passed.status).toBe(0);
    expect(passed.stdout).toContain(
      '--- release notes ---\n### Added\n\n- Something new.\n--- end of release notes ---\n',
    );

    const failed = run(root, ['v1.2.1']);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toBe(
      [
        '::error::package.json has version "1.2.0", the tag says 1.2.1',
        '::error::package-lock.json version is "1.2.0", the tag says 1.2.1',
        '::error::package-lock.json packages[""].version is "1.2.0", the tag says 1.2.1',
        "::error::CHANGELOG.md's top released entry is 1.2.0 (line 7), the tag says 1.2.1",
        '',
      ].join('\n'),
    );
    expect(run(root, []).stdout).toContain('::error::usage: release-check.mjs vX.Y.Z');
  });
});

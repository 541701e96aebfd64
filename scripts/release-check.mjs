#!/usr/bin/env node
// Release gate for a pushed tag vX.Y.Z (see docs/releasing.md): the tag, package.json, package-lock.json and
// the top released CHANGELOG entry must name one version; that entry's body becomes the release notes; and the
// major tag (v1) moves to this release only when no release of that major is newer.
//
//   node scripts/release-check.mjs vX.Y.Z [--repository OWNER/NAME] [--notes-file FILE] [--existing-tags FILE]
//
// --repository: this repository (the release workflow passes it): the reusable workflow must name the action as
// OWNER/NAME@vMAJOR of this tag; without it that is not checked.
// --notes-file: where the notes go (default: printed). --existing-tags: the repository's tags, one per line
// (bare or refs/tags/...), to decide the major tag and whether the release is Latest; the decisions are printed
// and, under GitHub Actions, written to $GITHUB_OUTPUT as major-tag, move-major-tag and latest.
// No dependencies: the release job runs it without npm ci.
import { appendFileSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

const RELEASE_TAG = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
// "## [1.0.0] - 2026-11-30", also without brackets, optionally "[YANKED]" (Keep a Changelog 1.1.0).
const RELEASE_HEADING = /^##\s+\[?(\d+\.\d+\.\d+)\]?\s+-\s+(\d{4}-\d{2}-\d{2})(\s+\[YANKED\])?\s*$/i;
const UNRELEASED_HEADING = /^##\s+\[?unreleased\]?\s*$/i;
const LINK_DEFINITION = /^\[[^\]]+\]:\s+\S+/;

/** `v1.2.3` as numbers; throws when the tag is not exactly vMAJOR.MINOR.PATCH (no prefix, suffix or zeros). */
export function parseReleaseTag(tag) {
  const match = RELEASE_TAG.exec(tag);
  if (!match) throw new Error(`tag "${tag}" is not a release tag vMAJOR.MINOR.PATCH (e.g. v1.0.0)`);
  const [major, minor, patch] = match.slice(1).map(Number);
  return { major, minor, patch, version: `${major}.${minor}.${patch}` };
}

/** Negative, zero or positive as version a is older than, equal to or newer than b ("1.10.0" > "1.9.9"). */
export function compareVersions(a, b) {
  const parts = (version) => {
    const match = VERSION.exec(version);
    if (!match) throw new Error(`"${version}" is not a version MAJOR.MINOR.PATCH`);
    return match.slice(1).map(Number);
  };
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

function isRealDate(isoDate) {
  const date = new Date(`${isoDate}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === isoDate;
}

/**
 * The `## ` sections of a Keep a Changelog file, in file order: `{ kind: 'unreleased' | 'release', version,
 * date, yanked, body, line }`. A body ends at the next `## ` heading; the link definitions that close the file
 * are not part of the last body. Any other `## ` heading is an error, so a typo cannot hide an entry.
 */
export function parseChangelog(text) {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const sections = [];
  const problems = [];
  let current;
  lines.forEach((line, index) => {
    if (!line.startsWith('## ')) {
      current?.lines.push(line);
      return;
    }
    const lineNumber = index + 1;
    const release = RELEASE_HEADING.exec(line);
    if (UNRELEASED_HEADING.test(line)) {
      current = { kind: 'unreleased', version: null, date: null, yanked: false, line: lineNumber, lines: [] };
    } else if (release) {
      const [, version, date, yanked] = release;
      if (!isRealDate(date)) {
        problems.push(`CHANGELOG.md line ${lineNumber}: "${date}" is not a date YYYY-MM-DD`);
      }
      current = { kind: 'release', version, date, yanked: Boolean(yanked), line: lineNumber, lines: [] };
    } else {
      problems.push(
        `CHANGELOG.md line ${lineNumber}: "${line}" is neither "## [Unreleased]" nor "## [X.Y.Z] - YYYY-MM-DD"`,
      );
      current = undefined;
      return;
    }
    sections.push(current);
  });
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return sections.map(({ lines: bodyLines, ...section }) => ({ ...section, body: sectionBody(bodyLines) }));
}

function sectionBody(lines) {
  const kept = [...lines];
  const isBlankOrLink = (line) => line.trim() === '' || LINK_DEFINITION.test(line);
  while (kept.length > 0 && isBlankOrLink(kept.at(-1))) kept.pop();
  while (kept.length > 0 && kept[0].trim() === '') kept.shift();
  return kept.join('\n');
}

/**
 * Checks one release: every problem is collected, so one run names them all. Returns the version, the top
 * entry's date and body (the release notes), and warnings that do not stop a release. With `repository`, the
 * reusable workflow's text (`reusableWorkflow`) must name the action as that repository at the tag's major.
 * @param {{ tag: string, packageVersion: string, lockVersions?: Record<string, string>, changelog: string,
 *   repository?: string, reusableWorkflow?: string }} release
 */
export function checkRelease({ tag, packageVersion, lockVersions, changelog, repository, reusableWorkflow }) {
  const problems = [];
  const warnings = [];
  let version;
  try {
    version = parseReleaseTag(tag).version;
  } catch (error) {
    problems.push(error.message);
  }
  let sections = [];
  try {
    sections = parseChangelog(changelog);
  } catch (error) {
    problems.push(...error.message.split('\n'));
  }
  if (!version) return { problems, warnings };

  if (packageVersion !== version) {
    problems.push(`package.json has version "${packageVersion}", the tag says ${version}`);
  }
  for (const [where, lockVersion] of Object.entries(lockVersions ?? {})) {
    if (lockVersion !== version) {
      problems.push(`package-lock.json ${where} is "${lockVersion}", the tag says ${version}`);
    }
  }
  const releases = sections.filter((section) => section.kind === 'release');
  const top = releases[0];
  const unreleased = sections.find((section) => section.kind === 'unreleased');
  if (!top) {
    problems.push(`CHANGELOG.md has no released entry "## [${version}] - YYYY-MM-DD"`);
  } else if (top.version !== version) {
    problems.push(
      `CHANGELOG.md's top released entry is ${top.version} (line ${top.line}), the tag says ${version}` +
        (releases.some((release) => release.version === version) ? ` (${version} is further down)` : ''),
    );
  } else if (top.yanked) {
    problems.push(`CHANGELOG.md marks ${version} as [YANKED]`);
  } else if (top.body === '') {
    problems.push(`CHANGELOG.md's entry for ${version} (line ${top.line}) is empty: it is the release notes`);
  }
  if (repository !== undefined) {
    problems.push(
      ...reusableWorkflowProblems(reusableWorkflow ?? '', repository, parseReleaseTag(tag).major),
    );
  }
  const repeated = releases.filter((release) => release.version === version).length;
  if (repeated > 1) problems.push(`CHANGELOG.md has ${repeated} entries for ${version}`);
  if (unreleased && unreleased.body !== '') {
    warnings.push(`CHANGELOG.md's [Unreleased] section is not empty; what it lists is not in ${version}`);
  }
  if (problems.length > 0) return { problems, warnings };
  return { problems, warnings, version, date: top.date, notes: top.body };
}

export const REUSABLE_WORKFLOW = '.github/workflows/oncall-access.yml';

/**
 * The reusable workflow names this action by repository and major tag (a called workflow cannot say `uses: ./`):
 * every `uses:` of a repository with this one's name must be exactly `<repository>@v<major>`, so a release never
 * ships a workflow that hands the admin token to a placeholder (acme/…) or to the previous major.
 */
export function reusableWorkflowProblems(workflow, repository, major) {
  const name = repository.split('/')[1];
  const expected = `${repository}@v${major}`;
  const references = [...workflow.matchAll(/^\s*(?:-\s+)?uses:\s*['"]?([^\s'"#]+)/gm)]
    .map((match) => match[1])
    .filter((target) => target.split('@')[0].split('/')[1] === name && !target.includes('/.github/'));
  if (references.length === 0) return [`${REUSABLE_WORKFLOW} does not use ${expected}`];
  return references
    .filter((target) => target !== expected)
    .map(
      (target) =>
        `${REUSABLE_WORKFLOW} uses ${target}; a release of ${repository} v${major} must use ${expected}`,
    );
}

/** The vX.Y.Z tags among tag names (bare or refs/tags/...), parsed; v1, pre-releases and the rest left out. */
function releasesAmong(tagNames) {
  return tagNames
    .map((name) => name.trim().replace(/^refs\/tags\//, ''))
    .filter((name) => RELEASE_TAG.test(name))
    .map(parseReleaseTag);
}

/**
 * Whether the major tag (v1 for v1.2.3) moves to this release: only when no existing release tag of the same
 * major is newer, so a v1.0.1 fix pushed after v1.2.0 leaves v1 on v1.2.0. Tags that are not vX.Y.Z are
 * ignored (v1 itself, pre-releases, anything else).
 */
export function majorTagMove(tag, existingTags) {
  const release = parseReleaseTag(tag);
  const majorTag = `v${release.major}`;
  const newer = releasesAmong(existingTags)
    .filter((other) => other.major === release.major && compareVersions(other.version, release.version) > 0)
    .map((other) => `v${other.version}`)
    .sort((a, b) => compareVersions(b.slice(1), a.slice(1)));
  if (newer.length > 0) {
    return {
      majorTag,
      move: false,
      reason: `${newer[0]} is newer than ${tag}; ${majorTag} stays where it is`,
    };
  }
  return {
    majorTag,
    move: true,
    reason: `${tag} is the newest ${majorTag}.x.y release; ${majorTag} moves to it`,
  };
}

/**
 * Whether this release is the repository's newest of all majors, so GitHub marks it "Latest": a 1.x fix
 * published after 2.0.0 must not be (GitHub's API would mark every newly published release Latest).
 */
export function isNewestRelease(tag, existingTags) {
  const release = parseReleaseTag(tag);
  return !releasesAmong(existingTags).some((other) => compareVersions(other.version, release.version) > 0);
}

function readRepositoryFiles(root, withReusableWorkflow) {
  const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  return {
    packageVersion: packageJson.version,
    lockVersions: { version: lock.version, 'packages[""].version': lock.packages?.['']?.version },
    changelog: readFileSync(join(root, 'CHANGELOG.md'), 'utf8'),
    reusableWorkflow: withReusableWorkflow ? readFileSync(join(root, REUSABLE_WORKFLOW), 'utf8') : undefined,
  };
}

function main(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'notes-file': { type: 'string' },
      'existing-tags': { type: 'string' },
      repository: { type: 'string' },
    },
  });
  if (positionals.length !== 1) {
    throw new Error(
      'usage: release-check.mjs vX.Y.Z [--repository OWNER/NAME] [--notes-file FILE] [--existing-tags FILE]',
    );
  }
  const [tag] = positionals;
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const { repository } = values;
  const result = checkRelease({ tag, ...readRepositoryFiles(root, repository !== undefined), repository });
  for (const warning of result.warnings) console.log(`::warning::${warning}`);
  if (result.problems.length > 0) {
    for (const problem of result.problems) console.log(`::error::${problem}`);
    return 1;
  }
  console.log(`${tag}: package.json, package-lock.json and CHANGELOG.md (${result.date}) agree`);
  const notes = `${result.notes}\n`;
  if (values['notes-file']) {
    writeFileSync(values['notes-file'], notes);
    console.log(`release notes (${notes.length} characters) written to ${values['notes-file']}`);
  } else {
    process.stdout.write(`--- release notes ---\n${notes}--- end of release notes ---\n`);
  }
  if (values['existing-tags'] !== undefined) {
    const existingTags = readFileSync(values['existing-tags'], 'utf8').split('\n').filter(Boolean);
    const decision = majorTagMove(tag, existingTags);
    const latest = isNewestRelease(tag, existingTags);
    console.log(decision.reason);
    console.log(latest ? `${tag} is the newest release: marked Latest` : `${tag} is not the newest release`);
    if (process.env.GITHUB_OUTPUT) {
      appendFileSync(
        process.env.GITHUB_OUTPUT,
        `major-tag=${decision.majorTag}\nmove-major-tag=${decision.move}\nlatest=${latest}\n`,
      );
    }
  }
  return 0;
}

// Run as a program, not when a test imports it.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.log(`::error::${error.message}`);
    process.exitCode = 1;
  }
}

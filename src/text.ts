// Untrusted text (from PagerDuty, strongDM, GitHub, the ledger branch or the workflow's inputs) made safe for the
// one place it goes. One function per target, named by it; nothing is shown or run without passing one of them.

const CONTROL = /[\p{Cc}\p{Cf}]/gu;
const CONTROL_OR_SPACE = /[\s\p{Cc}\p{Cf}]/u;

/**
 * One line for the step log, an annotation or an error a person reads: no control characters (a newline could start
 * a workflow command such as ::add-mask::), at most `max` characters.
 */
export function forLogLine(value: string, max = 80): string {
  const flat = value
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    // The runner also reads "##[command]" anywhere in a log line; a word joiner keeps it from being one.
    .replace(/##\[/g, '##\u2060[');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** For HTML, and Markdown outside tables: "|" too, so a value cannot add table columns either. */
export function forHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/\|/g, '&#124;');
}

/**
 * For a Markdown table cell: inline syntax (emphasis, code, links) is backslash-escaped, then HTML is escaped
 * (which also turns "|" into an entity so a value cannot add columns). Cells never start a line, so "#", "-"
 * and "+" need nothing.
 */
export function forMarkdownCell(value: string): string {
  return forHtml(value.replace(/[\\`*_[\]~]/g, '\\$&'))
    .replace(/:\/\//g, '&#58;//') // no autolink from a PagerDuty name: http://… and www.… stay text
    .replace(/\b(www)\./gi, '$1&#46;');
}

/** Mermaid keeps its own syntax in task and section names: only letters, digits and a few marks survive. */
export function forMermaid(value: string): string {
  const safe = value
    .replace(/[^\p{L}\p{N} .@_-]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return (safe.length > 40 ? `${safe.slice(0, 39)}…` : safe) || '?';
}

/**
 * For a value that will be an argument of an `sdm` command: it must not be read as a flag and must not carry
 * whitespace or control characters. Returns why it is unsafe, or undefined when it may be passed.
 */
export function commandArgumentProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (value.startsWith('-')) return 'starts with "-" (it would be read as a flag)';
  if (CONTROL_OR_SPACE.test(value)) return 'contains whitespace or control characters';
  if (value.length > 255) return 'is longer than 255 characters';
  return undefined;
}

/** A service's error text quoted in our error: one line, 300 characters at most (an error page can be a document). */
export function forErrorDetail(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}

/** A workflow input quoted back in an input problem: control characters shown as "?", 80 characters at most. */
export function forInputProblem(value: string): string {
  const flat = value.replace(CONTROL, '?');
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

/** A value in a ledger commit message line: one line, 120 characters at most. */
export function forCommitMessage(value: string): string {
  return value.replace(/[\p{Cc}\p{Cf}\s]+/gu, ' ').slice(0, 120);
}

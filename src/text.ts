// Untrusted text (from PagerDuty, strongDM, GitHub, the ledger branch or the workflow's inputs) made safe for the
// one place it goes. One function per target, named by it; nothing is shown or run without passing one of them.

const CONTROL = /[\p{Cc}\p{Cf}]/gu;
const CONTROL_OR_SPACE = /[\s\p{Cc}\p{Cf}]/u;

/**
 * Outside text as one line: control and format characters (a newline could start a command such as ::add-mask::)
 * become spaces, never nothing, so a secret split by one is not joined back up; "##[" (which the runner reads
 * anywhere in a line) gets a word joiner. Not cut: cut only after secrets are scrubbed.
 */
function oneLine(value: string): string {
  return (
    value
      .replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      // The runner also reads "##[command]" anywhere in a log line; a word joiner keeps it from being one.
      .replace(/##\[/g, '##\u2060[')
  );
}

/**
 * One line for the step log, an annotation or an error a person reads: no control characters, no "##[" command
 * (see oneLine), at most `max` characters. Callers put it after text of their own ("| " in the log table), so a
 * "::" it starts with is not at the start of a line.
 */
export function forLogLine(value: string, max = 80): string {
  const flat = oneLine(value);
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
 * For a Markdown table cell (also the checklist's items and the stopped run's message): inline syntax (emphasis,
 * code, links) is backslash-escaped, then HTML is escaped (which also turns "|" into an entity so a value cannot add
 * columns). Cells never start a line, so "#", "-" and "+" need nothing there. See noReferences for "@", "#" and ":".
 */
export function forMarkdownCell(value: string): string {
  return noReferences(
    forHtml(value.replace(/[\\`*_[\]~]/g, '\\$&'))
      .replace(/:\/\//g, '&#58;//') // no autolink from a PagerDuty name: http://… and www.… stay text
      .replace(/\b(www)\./gi, '$1&#46;'),
  );
}

/**
 * GitHub turns "@name" into a mention (a notification), "#123" / "GH-123" into an issue link and ":name:" into an
 * emoji when it renders Markdown; it does so on the rendered text, so an HTML entity would not stop it. A word
 * joiner (U+2060, invisible) right after "@", "#" or the shortcode's first ":" does. Entities written above
 * ("&#58;", "&#124;") are left alone. Shortcodes that are only digits (":100:") are left as they are, so that
 * times such as 08:30:00 stay clean.
 */
function noReferences(value: string): string {
  return value
    .replace(/(?<![\p{L}\p{N}_])@(?=[\p{L}\p{N}_-])/gu, '@\u2060') // ada@example.com is no mention
    .replace(/(?<!&)#(?=[\p{L}\p{N}_-])/gu, '#\u2060')
    .replace(/\b(GH)-(?=\d)/gi, '$1-\u2060')
    .replace(/:(?=\d*[A-Za-z_+\\-][\w+\\-]*:)/g, ':\u2060'); // "\_": escaped above, still "_" when shown
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
 * What Mermaid's gantt lexer reads at the start of a line as a statement, a date or a click before it reads a task
 * name (its rules are case-insensitive, and a word ends at any character other than A-Z, 0-9 or "_"). Names pass
 * forMermaid first, so the statements that need ":", "{" or a quote (accTitle, accDescr, href) cannot occur.
 * summary-mermaid.test.ts proves each of these with Mermaid's parser.
 */
const GANTT_LINE_STARTS =
  /^(?:(?:accDescription|axisFormat|call|click|dateFormat|excludes|gantt|includes|inclusiveEndDates|section|tickInterval|title|todayMarker|topAxis|weekday|weekend)(?![A-Za-z0-9_])|\d{4}-\d\d-\d\d)/i;

/**
 * A gantt task name (as forMermaid), with a word joiner (U+2060, invisible) in front when it would otherwise start
 * like a statement: "section x" stays a task named "section x" instead of opening a section.
 */
export function forGanttTask(value: string): string {
  const safe = forMermaid(value);
  return GANTT_LINE_STARTS.test(safe) ? `\u2060${safe}` : safe;
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

/**
 * A service's error text quoted in our error or a retry line: one line that cannot act as a workflow command (as
 * forLogLine), 300 characters at most (an error page can be a document). Scrub secrets from `text` BEFORE calling
 * this: a secret cut in half here would no longer match the scrubber, and the runner cannot mask part of one.
 */
export function forErrorDetail(text: string): string {
  // A quote may be all that a caller's line holds, and "::" at the start of a line is a command: a word joiner too.
  const flat = oneLine(text).replace(/^::/, ':\u2060:');
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}

/**
 * Lower case for A-Z only: how emails and IDs are compared. Unicode lower-casing folds look-alikes into ASCII
 * ("\u212A", the Kelvin sign, becomes "k"), which would let one person's email match another's.
 */
export function asciiLowerCase(value: string): string {
  return value.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
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

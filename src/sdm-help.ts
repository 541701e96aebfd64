// Reads sdm's own help, so the action learns what this sdm offers instead of assuming it. sdm is built on
// urfave/cli: help has NAME / USAGE / COMMANDS / OPTIONS sections. The real text is not public, so this matches
// words, not layout: a section starts at a line holding only its title, and ends at the next such line.

export interface SdmHelp {
  /** Subcommand names from COMMANDS (aliases included: "help, h" gives both). */
  commands: string[];
  /** Flags from OPTIONS, long and short, e.g. "--from", "-h". */
  options: string[];
}

const SECTION = /^\s*([A-Z][A-Z ]*[A-Z]):?\s*$/;

export function parseHelp(text: string): SdmHelp {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split(/\r?\n/)) {
    const title = SECTION.exec(line)?.[1];
    if (title) {
      current = [];
      sections.set(title.toUpperCase(), current);
    } else if (current && line.trim() !== '') {
      current.push(line.trim());
    }
  }
  const commands = (sections.get('COMMANDS') ?? []).flatMap((line) => {
    // "grant-temporary  temporarily grant…" or "help, h  Shows…".
    return namesPart(line)
      .split(',')
      .map((name) => name.trim())
      .filter((name) => /^[a-z][a-z0-9-]*$/i.test(name));
  });
  const optionLines = sections.get('OPTIONS') ?? sections.get('GLOBAL OPTIONS') ?? [];
  // "--from value   start of…" or "--help, -h  show help": flags up to the description.
  const options = optionLines.flatMap((line) =>
    [...(namesPart(line).match(/(?:^|[\s,])--?[a-z][a-z0-9-]*/gi) ?? [])].map((flag) =>
      flag.replace(/^[\s,]+/, ''),
    ),
  );
  return { commands: [...new Set(commands)], options: [...new Set(options)] };
}

/** A help line's names (command or flags), before the description: up to the first run of 2+ spaces or a tab. */
function namesPart(line: string): string {
  return line.split(/\s{2,}|\t/)[0] ?? '';
}

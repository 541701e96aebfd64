import { describe, expect, it } from 'vitest';
import { parseHelp } from './sdm-help.js';

const usersHelp = `NAME:
   sdm admin users - manage users

USAGE:
   sdm admin users command [command options] [arguments...]

COMMANDS:
   add              create a user
   list             list users; see --json
   grant-temporary  temporarily grant a user access to a resource
   revoke           revoke a user's temporary access to a resource
   help, h          Shows a list of commands or help for one command

OPTIONS:
   --help, -h  show help
`;

const grantHelp = `NAME:
   sdm admin users grant-temporary - temporarily grant a user access to a resource

USAGE:
   sdm admin users grant-temporary [command options] <resource name> <user email>

OPTIONS:
   --from value   start of the grant (RFC3339, e.g. 2024-01-02T15:04:05Z); see also --until
   --until value  end of the grant (RFC3339)
   --help, -h     show help
`;

describe('parseHelp', () => {
  it('reads subcommands and their aliases from COMMANDS, not from descriptions', () => {
    expect(parseHelp(usersHelp)).toEqual({
      commands: ['add', 'list', 'grant-temporary', 'revoke', 'help', 'h'],
      options: ['--help', '-h'],
    });
  });

  it('reads flags from OPTIONS, not from their descriptions', () => {
    expect(parseHelp(grantHelp).options).toEqual(['--from', '--until', '--help', '-h']);
  });

  it('matches words, not spacing: tabs, single-space descriptions, titles without colons, CRLF', () => {
    const text =
      'COMMANDS\r\n\tlist\tlist users\r\n  revoke  revoke access\r\nOPTIONS\r\n\t--from value\tstart\r\n';
    expect(parseHelp(text)).toEqual({ commands: ['list', 'revoke'], options: ['--from'] });
  });

  it('finds nothing in text without the sections', () => {
    expect(parseHelp("No help topic for 'users'")).toEqual({ commands: [], options: [] });
    expect(parseHelp('')).toEqual({ commands: [], options: [] });
  });
});

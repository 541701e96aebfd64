import { describe, expect, it } from 'vitest';
import { publishedSha256, unverifiedMessage, upgradeUrl, versionFromUrl } from './sdm-install.js';

describe('versionFromUrl', () => {
  it('reads the version from the vendor file name', () => {
    expect(
      versionFromUrl(
        'https://downloads.strongdm.com/builds/sdm-cli/46.0.0/linux-amd64/0123456789abcdef0123456789abcdef01234567/sdmcli_46.0.0_linux_amd64.zip',
      ),
    ).toBe('46.0.0');
    expect(versionFromUrl('https://app.strongdm.com/releases/cli/linux')).toBeUndefined();
    expect(versionFromUrl('https://mirror.example.com/sdm.zip?v=sdmcli_1.2.3_')).toBeUndefined();
  });
});

describe('upgradeUrl', () => {
  it('derives the version endpoint from the vendor address only', () => {
    expect(upgradeUrl('https://app.strongdm.com/releases/cli/linux', '46.1.0')).toBe(
      'https://app.strongdm.com/releases/upgrade?os=linux&arch=amd64&software=sdm-cli&version=46.1.0',
    );
    expect(
      upgradeUrl('https://mirror.example.com/sdm/sdmcli_46.1.0_linux_amd64.zip', '46.1.0'),
    ).toBeUndefined();
  });
});

describe('publishedSha256', () => {
  const hash = 'ab'.repeat(32);
  it('takes the one SHA-256 in the body, in either case', () => {
    expect(publishedSha256(`${hash.toUpperCase()}  sdmcli_46.0.0_linux_amd64.zip\n`)).toBe(hash);
    expect(publishedSha256(JSON.stringify({ sha256: hash, again: hash }))).toBe(hash);
  });
  it('refuses a body with none, or with two different ones', () => {
    expect(publishedSha256('not found')).toBeUndefined();
    expect(publishedSha256(`${hash} ${'cd'.repeat(32)}`)).toBeUndefined();
    expect(publishedSha256('a'.repeat(65))).toBeUndefined();
  });
});

describe('unverifiedMessage', () => {
  it('gives both fixes and the opt-out', () => {
    const message = unverifiedMessage('46.0.0', 'ab'.repeat(32), 'answered HTTP 404');
    expect(message).toMatch(
      /^the downloaded sdm 46\.0\.0 zip could not be verified \(sdm-sha256 is not set and sdm-checksum-url answered HTTP 404\); nothing was run/,
    );
    expect(message).toContain(`pin sdm-sha256 to the zip's SHA-256 (sha256sum`);
    expect(message).toContain('make sdm-checksum-url answer');
    expect(message).toContain('sdm-checksum-url: none');
  });
});

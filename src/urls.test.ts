import { describe, expect, it } from 'vitest';
import { displayUrl, isAllowedRedirect, isAllowedUrl, isLoopbackHost } from './urls.js';

describe('isLoopbackHost', () => {
  it('accepts loopback addresses only, not names that look like them', () => {
    for (const host of ['localhost', '127.0.0.1', '127.8.9.10', '[::1]', '::1'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['127.evil.example', '127.0.0.1.nip.io', '10.0.0.1', 'example.com', '128.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('isAllowedUrl', () => {
  it('allows https anywhere and http only to loopback', () => {
    expect(isAllowedUrl(new URL('https://api.pagerduty.com'))).toBe(true);
    expect(isAllowedUrl(new URL('http://127.0.0.1:8080/x'))).toBe(true);
    expect(isAllowedUrl(new URL('http://127.evil.example/x'))).toBe(false);
    expect(isAllowedUrl(new URL('ftp://127.0.0.1/x'))).toBe(false);
  });
});

describe('isAllowedRedirect', () => {
  const allowed = (from: string, to: string) => isAllowedRedirect(new URL(from), new URL(to));
  it('never lets https hand over to plain http, not even to loopback', () => {
    expect(
      allowed('https://app.strongdm.com/releases/cli/linux', 'http://downloads.strongdm.com/sdm.zip'),
    ).toBe(false);
    expect(allowed('https://app.strongdm.com/releases/cli/linux', 'http://127.0.0.1:8080/sdm.zip')).toBe(
      false,
    );
    expect(allowed('https://mirror.example.com/sdm.zip', 'http://localhost/sdm.zip')).toBe(false);
    expect(allowed('https://mirror.example.com/sdm.zip', 'http://[::1]/sdm.zip')).toBe(false);
  });
  it('allows https to https, and http to http only between loopback addresses', () => {
    expect(allowed('https://app.strongdm.com/a', 'https://downloads.strongdm.com/b')).toBe(true);
    expect(allowed('http://127.0.0.1:8080/a', 'http://127.0.0.1:9090/b')).toBe(true);
    expect(allowed('http://127.0.0.1:8080/a', 'https://downloads.strongdm.com/b')).toBe(true);
    expect(allowed('http://127.0.0.1:8080/a', 'http://downloads.strongdm.com/b')).toBe(false);
    expect(allowed('https://app.strongdm.com/a', 'ftp://downloads.strongdm.com/b')).toBe(false);
    expect(allowed('https://app.strongdm.com/a', 'file:///etc/passwd')).toBe(false);
  });
});

describe('displayUrl', () => {
  it('drops credentials and query strings', () => {
    expect(displayUrl('https://user:secret@mirror.example.com/sdm.zip?token=abc')).toBe(
      'https://mirror.example.com/sdm.zip',
    );
    expect(displayUrl('not a url')).toBe('(invalid URL)');
  });
});

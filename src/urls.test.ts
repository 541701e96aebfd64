import { describe, expect, it } from 'vitest';
import { displayUrl, isAllowedUrl, isLoopbackHost } from './urls.js';

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

describe('displayUrl', () => {
  it('drops credentials and query strings', () => {
    expect(displayUrl('https://user:secret@mirror.example.com/sdm.zip?token=abc')).toBe(
      'https://mirror.example.com/sdm.zip',
    );
    expect(displayUrl('not a url')).toBe('(invalid URL)');
  });
});

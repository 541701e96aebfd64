// Address rules shared by every outgoing request: tokens and binaries travel over HTTPS, except to this machine.
import { isIP } from 'node:net';

/** True for localhost, 127.0.0.0/8 and ::1 written as addresses (not names that merely start with "127."). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.split('.')[0] === '127';
}

/** HTTPS anywhere, plain HTTP only to loopback (mirrors and tests). */
export function isAllowedUrl(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/**
 * Whether a redirect (or an address an answer points to, like the upgrade endpoint's `url`) may be followed from
 * `from`: the target must itself be allowed, and plain http only from plain http (a loopback mirror or test).
 * An https address never hands over to http, not even to loopback: anyone on this machine could listen there.
 */
export function isAllowedRedirect(from: URL, to: URL): boolean {
  if (!isAllowedUrl(to)) return false;
  return to.protocol === 'https:' || from.protocol === 'http:';
}

/** Scheme, host and path only: user:password@ and query strings can carry credentials. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

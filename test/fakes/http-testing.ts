// What the tests of the HTTP fakes (github.test.ts, pagerduty.test.ts, orgs.test.ts) share: one request to a fake,
// its answer read whole.

export interface FakeAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json: () => unknown;
}

/**
 * Sends one request and reads the whole answer. `authorization`, when given, is sent as the Authorization header
 * exactly as written; no header is sent without it.
 */
export async function request(
  url: string,
  options: { method?: string; authorization?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<FakeAnswer> {
  const { method = 'GET', authorization, headers = {}, body } = options;
  const res = await fetch(url, {
    method,
    headers: { ...(authorization === undefined ? {} : { authorization }), ...headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

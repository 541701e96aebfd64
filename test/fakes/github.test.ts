// Tests of the fake GitHub itself, driven by @octokit/rest so that octokit and the fake agree on URLs,
// encodings and error shapes. The fake must refuse what GitHub refuses (401/403/404/409/422), otherwise
// tests of the ledger's compare-and-swap against it prove nothing.
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Octokit } from '@octokit/rest';
import { startFakeGitHub } from './github.mjs';
import type { FakeGitHub } from './github.mjs';
import { request } from './http-testing.js';

const TOKEN = 'ghs_test_token';
const READ_TOKEN = 'ghs_read_only';
const OWNER = 'acme';
const REPO = 'ops';
const STATE = 'oncall-access-state';
const LEDGER = 'ledger.json';
/** `git hash-object /dev/null` and `printf 'hello world\n' | git hash-object --stdin`: well-known constants. */
const EMPTY_BLOB_SHA = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';
const HELLO_WORLD_BLOB_SHA = '3b18e512dba79e4c8300dd08aeb37f8e728b8dad';

interface ErrorBody {
  message: string;
  documentation_url: string;
  status: string;
}
interface HttpError {
  name: string;
  status: number;
  message: string;
  response?: { data: unknown; headers: Record<string, string | undefined> };
}
interface FileContent {
  type: string;
  encoding: string;
  size: number;
  name: string;
  path: string;
  content: string;
  sha: string;
}

/** The blob sha git computes, written independently of the fake. */
function blobSha(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(`blob ${bytes.length}\0`, 'utf8'), bytes]))
    .digest('hex');
}
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Awaits a promise that must reject with an HTTP error and returns that error. */
async function failure(promise: Promise<unknown>): Promise<HttpError> {
  let result: unknown;
  try {
    result = await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return err as HttpError;
  }
  return expect.fail(`expected a rejection, got ${JSON.stringify(result)}`);
}
/** The GitHub error body of a failed octokit call. */
function errorBody(err: HttpError): ErrorBody {
  return err.response?.data as ErrorBody;
}

let fake: FakeGitHub;
let octokit: Octokit;
/** What octokit logged (its request-log plugin reports every failed request with `log.error`). */
let logged: string[];
/** Octokit as the action would build it, logging into `logged` instead of the console. */
const client = (auth?: string) =>
  new Octokit({
    ...(auth === undefined ? {} : { auth }),
    baseUrl: fake.url,
    log: {
      debug: () => undefined,
      info: () => undefined,
      warn: (m: string) => logged.push(`warn: ${m}`),
      error: (m: string) => logged.push(`error: ${m}`),
    },
  });

beforeEach(async () => {
  fake = await startFakeGitHub({ tokens: { [TOKEN]: 'write', [READ_TOKEN]: 'read' } });
  logged = [];
  octokit = client(TOKEN);
});
afterEach(async () => {
  await fake.close();
});

async function mainHead(): Promise<string> {
  const { data } = await octokit.rest.git.getRef({ owner: OWNER, repo: REPO, ref: 'heads/main' });
  return data.object.sha;
}
async function createBranch(name: string): Promise<string> {
  const sha = await mainHead();
  await octokit.rest.git.createRef({ owner: OWNER, repo: REPO, ref: `refs/heads/${name}`, sha });
  return sha;
}
async function put(
  path: string,
  text: string,
  extra: { sha?: string; branch?: string; message?: string } = {},
) {
  return octokit.rest.repos.createOrUpdateFileContents({
    owner: OWNER,
    repo: REPO,
    path,
    message: extra.message ?? `write ${path}`,
    content: b64(text),
    ...(extra.sha === undefined ? {} : { sha: extra.sha }),
    ...(extra.branch === undefined ? {} : { branch: extra.branch }),
  });
}
async function read(path: string, ref?: string): Promise<FileContent> {
  const { data } = await octokit.rest.repos.getContent({
    owner: OWNER,
    repo: REPO,
    path,
    ...(ref === undefined ? {} : { ref }),
  });
  return data as FileContent;
}

describe('authentication and permissions', () => {
  it('answers 401 Bad credentials to an unknown token, in GitHub error shape', async () => {
    const bad = client('ghs_nope');
    const err = await failure(bad.rest.repos.get({ owner: OWNER, repo: REPO }));
    expect(err.name).toBe('HttpError');
    expect(err.status).toBe(401);
    expect(errorBody(err)).toEqual({
      message: 'Bad credentials',
      documentation_url: 'https://docs.github.com/rest',
      status: '401',
    });
    expect(err.message).toBe('Bad credentials - https://docs.github.com/rest');
  });

  it('answers 401 to a malformed Authorization header and 404 when there is none (private repo)', async () => {
    const basic = await request(`${fake.url}/repos/${OWNER}/${REPO}`, { authorization: `Basic ${TOKEN}` });
    expect(basic.status).toBe(401);
    const anonymous = client();
    const err = await failure(anonymous.rest.repos.get({ owner: OWNER, repo: REPO }));
    expect(err.status).toBe(404);
    expect(errorBody(err).message).toBe('Not Found');
  });

  it('accepts `Bearer <token>` as well as `token <token>`', async () => {
    for (const scheme of ['Bearer', 'bearer', 'token', 'Token']) {
      const res = await request(`${fake.url}/repos/${OWNER}/${REPO}`, {
        authorization: `${scheme} ${TOKEN}`,
      });
      expect(res.status, scheme).toBe(200);
      expect((res.json() as { full_name: string }).full_name).toBe('acme/ops');
    }
  });

  it('describes the repository with the token permission', async () => {
    const { data, status } = await octokit.rest.repos.get({ owner: OWNER, repo: REPO });
    expect(status).toBe(200);
    expect(data).toMatchObject({
      name: REPO,
      full_name: `${OWNER}/${REPO}`,
      default_branch: 'main',
      private: true,
      permissions: { admin: false, push: true, pull: true },
    });
    const reader = client(READ_TOKEN);
    expect((await reader.rest.repos.get({ owner: OWNER, repo: REPO })).data.permissions?.push).toBe(false);
  });

  it('answers 404 for an unknown repository or owner', async () => {
    for (const [owner, repo] of [
      [OWNER, 'nope'],
      ['nobody', REPO],
    ] as const) {
      const err = await failure(octokit.rest.repos.get({ owner, repo }));
      expect(err.status).toBe(404);
      expect(errorBody(err)).toMatchObject({ message: 'Not Found', status: '404' });
    }
  });

  it('refuses every write with a read-only token (403) and changes nothing', async () => {
    const reader = client(READ_TOKEN);
    const sha = await mainHead();
    const refErr = await failure(
      reader.rest.git.createRef({ owner: OWNER, repo: REPO, ref: `refs/heads/${STATE}`, sha }),
    );
    expect(refErr.status).toBe(403);
    expect(errorBody(refErr).message).toBe('Resource not accessible by integration');
    const putErr = await failure(
      reader.rest.repos.createOrUpdateFileContents({
        owner: OWNER,
        repo: REPO,
        path: LEDGER,
        message: 'nope',
        content: b64('{}'),
      }),
    );
    expect(putErr.status).toBe(403);
    expect(errorBody(putErr)).toEqual({
      message: 'Resource not accessible by integration',
      documentation_url: 'https://docs.github.com/rest/repos/contents#create-or-update-file-contents',
      status: '403',
    });
    expect(fake.branches()).toEqual(['main']);
    expect(fake.file('main', LEDGER)).toBeUndefined();
    // Reading is allowed.
    expect(
      (await reader.rest.git.getRef({ owner: OWNER, repo: REPO, ref: 'heads/main' })).data.object.sha,
    ).toBe(sha);
  });
});

describe('refs', () => {
  it('404 for a missing branch, 201 on create, then 422 Reference already exists', async () => {
    const missing = await failure(
      octokit.rest.git.getRef({ owner: OWNER, repo: REPO, ref: `heads/${STATE}` }),
    );
    expect(missing.status).toBe(404);
    expect(errorBody(missing)).toEqual({
      message: 'Not Found',
      documentation_url: 'https://docs.github.com/rest/git/refs#get-a-reference',
      status: '404',
    });

    const sha = await mainHead();
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    const created = await octokit.rest.git.createRef({
      owner: OWNER,
      repo: REPO,
      ref: `refs/heads/${STATE}`,
      sha,
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ ref: `refs/heads/${STATE}`, object: { sha, type: 'commit' } });
    expect(fake.branches()).toEqual(['main', STATE]);

    const got = await octokit.rest.git.getRef({ owner: OWNER, repo: REPO, ref: `heads/${STATE}` });
    expect(got.data).toMatchObject({ ref: `refs/heads/${STATE}`, object: { sha, type: 'commit' } });

    const again = await failure(
      octokit.rest.git.createRef({ owner: OWNER, repo: REPO, ref: `refs/heads/${STATE}`, sha }),
    );
    expect(again.status).toBe(422);
    expect(errorBody(again)).toEqual({
      message: 'Reference already exists',
      documentation_url: 'https://docs.github.com/rest/git/refs#create-a-reference',
      status: '422',
    });
  });

  it('refuses an unknown sha and a ref not under refs/ (422), creating nothing', async () => {
    const unknown = await failure(
      octokit.rest.git.createRef({
        owner: OWNER,
        repo: REPO,
        ref: `refs/heads/${STATE}`,
        sha: 'a'.repeat(40),
      }),
    );
    expect(unknown.status).toBe(422);
    expect(errorBody(unknown).message).toBe('Object does not exist');

    const sha = await mainHead();
    for (const ref of [`heads/${STATE}`, STATE, 'refs/heads/a..b', 'refs/heads/x.lock', 'refs/heads/']) {
      const bad = await failure(octokit.rest.git.createRef({ owner: OWNER, repo: REPO, ref, sha }));
      expect(bad.status, ref).toBe(422);
    }
    expect(fake.branches()).toEqual(['main']);
  });

  it('handles branch names containing / (octokit sends them as %2F)', async () => {
    const branch = 'oncall/access/state';
    const sha = await createBranch(branch);
    const got = await octokit.rest.git.getRef({ owner: OWNER, repo: REPO, ref: `heads/${branch}` });
    expect(got.data.ref).toBe(`refs/heads/${branch}`);
    expect(got.data.object.sha).toBe(sha);
    const getRefRequest = fake.requests.find(
      (r) => r.method === 'GET' && r.path.includes('/git/ref/heads/oncall'),
    );
    expect(getRefRequest?.path).toBe(`/repos/acme/ops/git/ref/heads/${branch}`);
    expect(getRefRequest?.rawPath).toBe('/repos/acme/ops/git/ref/heads%2Foncall%2Faccess%2Fstate');

    await put('dir/ledger.json', '{"v":1}', { branch });
    expect(fake.file(branch, 'dir/ledger.json')?.text).toBe('{"v":1}');
    expect(fake.file('main', 'dir/ledger.json')).toBeUndefined();
    const back = await read('dir/ledger.json', branch);
    expect(back.path).toBe('dir/ledger.json');
    expect(back.name).toBe('ledger.json');
    expect(Buffer.from(back.content, 'base64').toString('utf8')).toBe('{"v":1}');
    // A prefix of the branch is not the branch; a branch cannot nest under an existing one.
    expect(
      (await failure(octokit.rest.git.getRef({ owner: OWNER, repo: REPO, ref: 'heads/oncall' }))).status,
    ).toBe(404);
    const nested = await failure(
      octokit.rest.git.createRef({ owner: OWNER, repo: REPO, ref: `refs/heads/${branch}/x`, sha }),
    );
    expect(nested.status).toBe(422);
  });
});

describe('contents: read', () => {
  it('404 No commit found for a missing branch, 404 Not Found for a missing file', async () => {
    const noBranch = await failure(read(LEDGER, STATE));
    expect(noBranch.status).toBe(404);
    expect(errorBody(noBranch)).toEqual({
      message: `No commit found for the ref ${STATE}`,
      documentation_url: 'https://docs.github.com/rest/repos/contents#get-repository-content',
      status: '404',
    });
    await createBranch(STATE);
    const noFile = await failure(read(LEDGER, STATE));
    expect(noFile.status).toBe(404);
    expect(errorBody(noFile).message).toBe('Not Found');
  });

  it('reads the default branch when no ref is given (the initial README)', async () => {
    const readme = await read('README.md');
    expect(readme).toMatchObject({ type: 'file', encoding: 'base64', name: 'README.md', path: 'README.md' });
    const text = Buffer.from(readme.content, 'base64').toString('utf8');
    expect(text).toBe(fake.file('main', 'README.md')?.text);
    expect(readme.sha).toBe(blobSha(text));
    expect(readme.size).toBe(Buffer.byteLength(text));
  });

  it('lists a directory as an array', async () => {
    await put('dir/b.json', 'b');
    await put('dir/sub/c.json', 'c');
    const { data } = await octokit.rest.repos.getContent({ owner: OWNER, repo: REPO, path: 'dir' });
    expect(Array.isArray(data)).toBe(true);
    expect((data as Array<{ name: string; type: string }>).map((e) => `${e.type}:${e.name}`)).toEqual([
      'file:b.json',
      'dir:sub',
    ]);
  });

  it('answers files over 1 MiB with encoding none and empty content', async () => {
    const big = 'x'.repeat(1024 * 1024 + 1);
    fake.writeFile('main', 'big.txt', big);
    const data = await read('big.txt');
    expect(data.encoding).toBe('none');
    expect(data.content).toBe('');
    expect(data.size).toBe(big.length);
    expect(data.sha).toBe(blobSha(big));
  });
});

describe('contents: compare-and-swap writes', () => {
  it('creates a file (201) whose sha is git’s blob sha, and reads it back', async () => {
    await createBranch(STATE);
    const text = `${JSON.stringify({ version: 1, grants: Array.from({ length: 8 }, (_, i) => `user-${i}`) })}\n`;
    const res = await put(LEDGER, text, { branch: STATE, message: 'oncall-access: create ledger' });
    expect(res.status).toBe(201);
    expect(res.data.content).toMatchObject({
      name: LEDGER,
      path: LEDGER,
      size: Buffer.byteLength(text),
      type: 'file',
    });
    expect(res.data.content?.sha).toBe(blobSha(text));
    expect(res.data.commit.message).toBe('oncall-access: create ledger');
    const branchHead = (await octokit.rest.git.getRef({ owner: OWNER, repo: REPO, ref: `heads/${STATE}` }))
      .data.object.sha;
    expect(res.data.commit.sha).toBe(branchHead);

    const back = await read(LEDGER, STATE);
    expect(back).toMatchObject({ type: 'file', encoding: 'base64', name: LEDGER, path: LEDGER });
    expect(Buffer.from(back.content, 'base64').toString('utf8')).toBe(text);
    expect(back.sha).toBe(blobSha(text));
    // GitHub wraps base64 at 60 characters, ending every line (the last too) with \n.
    const lines = back.content.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -2).every((l) => l.length === 60)).toBe(true);
    expect(lines.length).toBeGreaterThan(2);
    expect(fake.file(STATE, LEDGER)).toEqual({ text, sha: blobSha(text) });
    expect(fake.file('main', LEDGER)).toBeUndefined();
  });

  it('gives the well-known git blob shas of empty and "hello world\\n" files', async () => {
    expect((await put('empty', '')).data.content?.sha).toBe(EMPTY_BLOB_SHA);
    expect((await put('hello', 'hello world\n')).data.content?.sha).toBe(HELLO_WORLD_BLOB_SHA);
    expect((await read('hello')).sha).toBe(HELLO_WORLD_BLOB_SHA);
  });

  it('updates with the current sha (200), refuses a stale sha (409) and a missing sha (422)', async () => {
    await createBranch(STATE);
    const v1 = (await put(LEDGER, '{"v":1}', { branch: STATE })).data.content?.sha as string;
    const v2res = await put(LEDGER, '{"v":2}', { branch: STATE, sha: v1 });
    expect(v2res.status).toBe(200);
    const v2 = v2res.data.content?.sha as string;
    expect(v2).toBe(blobSha('{"v":2}'));
    expect(v2).not.toBe(v1);

    const stale = await failure(put(LEDGER, '{"v":3}', { branch: STATE, sha: v1 }));
    expect(stale.status).toBe(409);
    expect(errorBody(stale)).toEqual({
      message: `${LEDGER} does not match ${v1}`,
      documentation_url: 'https://docs.github.com/rest/repos/contents#create-or-update-file-contents',
      status: '409',
    });

    const noSha = await failure(put(LEDGER, '{"v":3}', { branch: STATE }));
    expect(noSha.status).toBe(422);
    expect(errorBody(noSha).message).toBe('Invalid request.\n\n"sha" wasn\'t supplied.');

    expect(fake.file(STATE, LEDGER)?.text).toBe('{"v":2}');
    expect(fake.commits(STATE)).toHaveLength(3); // initial + v1 + v2, nothing from the refused writes
  });

  it('ignores sha when the file does not exist yet (as GitHub does)', async () => {
    const res = await put(LEDGER, '{}', { sha: 'b'.repeat(40) });
    expect(res.status).toBe(201);
    expect(fake.file('main', LEDGER)?.text).toBe('{}');
  });

  it('refuses a missing branch (404), missing message or content (422) and bad base64 (422)', async () => {
    const noBranch = await failure(put(LEDGER, '{}', { branch: STATE, sha: 'c'.repeat(40) }));
    expect(noBranch.status).toBe(404);
    expect(errorBody(noBranch).message).toBe(`Branch ${STATE} not found`);
    expect(fake.branches()).toEqual(['main']);

    const url = `${fake.url}/repos/${OWNER}/${REPO}/contents/${LEDGER}`;
    const putRaw = (body: string) =>
      request(url, {
        method: 'PUT',
        authorization: `token ${TOKEN}`,
        headers: { 'content-type': 'application/json' },
        body,
      });
    const send = async (body: unknown) => {
      const res = await putRaw(JSON.stringify(body));
      return { status: res.status, body: res.json() as ErrorBody };
    };
    expect(await send({ content: b64('{}') })).toEqual({
      status: 422,
      body: expect.objectContaining({
        message: 'Invalid request.\n\n"message" wasn\'t supplied.',
        status: '422',
      }),
    });
    expect((await send({ message: 'm' })).body.message).toBe(
      'Invalid request.\n\n"content" wasn\'t supplied.',
    );
    expect(await send({ message: 'm', content: 'not base64!' })).toEqual({
      status: 422,
      body: expect.objectContaining({ message: 'content is not valid Base64' }),
    });
    const garbage = await putRaw('{"message":');
    expect(garbage.status).toBe(400);
    expect((garbage.json() as ErrorBody).message).toBe('Problems parsing JSON');
    expect(fake.file('main', LEDGER)).toBeUndefined();
  });

  it('sees writes by another run: the next write with the old sha is a 409', async () => {
    await createBranch(STATE);
    const mine = (await put(LEDGER, '{"v":1}', { branch: STATE })).data.content?.sha as string;
    const theirs = fake.writeFile(STATE, LEDGER, '{"v":"theirs"}', 'another run');
    expect(theirs.sha).toBe(blobSha('{"v":"theirs"}'));
    expect(theirs.commit).toBe(fake.commits(STATE).at(-1)?.sha);
    expect((await failure(put(LEDGER, '{"v":2}', { branch: STATE, sha: mine }))).status).toBe(409);
    // Re-read, re-apply: succeeds.
    const current = await read(LEDGER, STATE);
    expect(current.sha).toBe(theirs.sha);
    expect((await put(LEDGER, '{"v":2}', { branch: STATE, sha: current.sha })).status).toBe(200);
    expect(() => fake.writeFile('no-such-branch', LEDGER, '{}')).toThrow(/no branch/);
  });

  it('records commits with messages, parents and full file snapshots', async () => {
    const base = await createBranch(STATE);
    const a = await put(LEDGER, 'A', { branch: STATE, message: 'first' });
    await put(LEDGER, 'B', { branch: STATE, sha: a.data.content?.sha as string, message: 'second' });
    const history = fake.commits(STATE);
    expect(history.map((c) => c.message)).toEqual(['Initial commit', 'first', 'second']);
    expect(history[0]?.sha).toBe(base);
    expect(history[1]?.parents).toEqual([base]);
    expect(history[2]?.parents).toEqual([history[1]?.sha]);
    expect(history[1]?.files).toEqual({ 'README.md': fake.file('main', 'README.md')?.text, [LEDGER]: 'A' });
    expect(history[2]?.files[LEDGER]).toBe('B');
    expect(history[2]?.author?.name).toBe('github-actions[bot]');
    expect(Date.parse(history[2]?.at ?? '')).not.toBeNaN();
    expect(new Set(history.map((c) => c.sha)).size).toBe(3);
    expect(fake.commits('main').map((c) => c.message)).toEqual(['Initial commit']);
    expect(() => fake.commits('no-such-branch')).toThrow(/no branch/);
  });
});

describe('routing', () => {
  it('answers 404 to unknown routes and to methods not served on a known path', async () => {
    const unknown = await failure(
      octokit.request('GET /repos/{owner}/{repo}/issues', { owner: OWNER, repo: REPO }),
    );
    expect(unknown.status).toBe(404);
    const del = await failure(
      octokit.rest.repos.deleteFile({
        owner: OWNER,
        repo: REPO,
        path: 'README.md',
        message: 'x',
        sha: 'a'.repeat(40),
      }),
    );
    expect(del.status).toBe(404);
    expect(fake.file('main', 'README.md')).toBeDefined();
    const postRef = await failure(
      octokit.request('POST /repos/{owner}/{repo}/git/ref/heads/main', { owner: OWNER, repo: REPO }),
    );
    expect(postRef.status).toBe(404);
  });
});

describe('faults', () => {
  it('respond: answers the status/body for `times` matching requests, then behaves normally', async () => {
    fake.faults.push({
      method: 'GET',
      path: `/repos/${OWNER}/${REPO}/contents/`,
      status: 502,
      body: { message: 'Server Error' },
      times: 2,
    });
    await octokit.rest.repos.get({ owner: OWNER, repo: REPO }); // other path: not affected
    for (let i = 0; i < 2; i++) {
      const err = await failure(read('README.md'));
      expect(err.status).toBe(502);
      expect(err.response?.data).toEqual({ message: 'Server Error' });
    }
    expect((await read('README.md')).name).toBe('README.md');
    expect(fake.faults).toHaveLength(0);
  });

  it('respond: a method filter leaves other methods alone', async () => {
    fake.faults.push({ method: 'PUT', path: `/repos/${OWNER}/${REPO}/contents/${LEDGER}`, status: 500 });
    await expect(read('README.md')).resolves.toBeDefined();
    expect((await failure(put(LEDGER, '{}'))).status).toBe(500);
    expect(fake.file('main', LEDGER)).toBeUndefined();
    expect((await put(LEDGER, '{}')).status).toBe(201);
  });

  it('concurrentWrite: another run commits first, so the request’s sha is stale (409)', async () => {
    await createBranch(STATE);
    const v1 = (await put(LEDGER, '{"v":1}', { branch: STATE })).data.content?.sha as string;
    fake.faults.push({
      action: 'concurrentWrite',
      path: `/repos/${OWNER}/${REPO}/contents/${LEDGER}`,
      content: '{"v":"other"}',
    });
    await read(LEDGER, STATE); // a GET does not trigger it
    expect(fake.faults).toHaveLength(1);
    const err = await failure(put(LEDGER, '{"v":2}', { branch: STATE, sha: v1 }));
    expect(err.status).toBe(409);
    expect(errorBody(err).message).toBe(`${LEDGER} does not match ${v1}`);
    expect(fake.file(STATE, LEDGER)).toEqual({ text: '{"v":"other"}', sha: blobSha('{"v":"other"}') });
    expect(fake.commits(STATE).map((c) => c.files[LEDGER])).toEqual([undefined, '{"v":1}', '{"v":"other"}']);
    expect(fake.faults).toHaveLength(0);
    // The retry with the fresh sha wins.
    const fresh = await read(LEDGER, STATE);
    expect((await put(LEDGER, '{"v":2}', { branch: STATE, sha: fresh.sha })).status).toBe(200);
  });

  it('hang: never answers; the client must abort (octokit rethrows the AbortError)', async () => {
    fake.faults.push({ action: 'hang', path: `/repos/${OWNER}/${REPO}/git/ref/` });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const err = await failure(
      octokit.rest.git.getRef({
        owner: OWNER,
        repo: REPO,
        ref: 'heads/main',
        request: { signal: controller.signal },
      }),
    );
    clearTimeout(timer);
    expect(err.name).toBe('AbortError');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(fake.requests.filter((r) => r.path === '/repos/acme/ops/git/ref/heads/main')).toHaveLength(1);
    // Only that one request hung.
    expect((await octokit.rest.git.getRef({ owner: OWNER, repo: REPO, ref: 'heads/main' })).status).toBe(200);
  });

  it('faults apply after authentication', async () => {
    fake.faults.push({ status: 503 });
    const bad = client('ghs_nope');
    expect((await failure(bad.rest.repos.get({ owner: OWNER, repo: REPO }))).status).toBe(401);
    expect((await failure(octokit.rest.repos.get({ owner: OWNER, repo: REPO }))).status).toBe(503);
  });
});

describe('request log', () => {
  it('records method, decoded path, query, authorization as sent, and the JSON body', async () => {
    await read(LEDGER, STATE).catch(() => undefined);
    await put(LEDGER, '{}', { branch: 'main' });
    const bad = client('ghs_leaky');
    await bad.rest.repos.get({ owner: OWNER, repo: REPO }).catch(() => undefined);
    expect(
      fake.requests.map((r) => ({
        method: r.method,
        path: r.path,
        query: r.query,
        authorization: r.authorization,
      })),
    ).toEqual([
      {
        method: 'GET',
        path: `/repos/acme/ops/contents/${LEDGER}`,
        query: [['ref', STATE]],
        authorization: `token ${TOKEN}`,
      },
      {
        method: 'PUT',
        path: `/repos/acme/ops/contents/${LEDGER}`,
        query: [],
        authorization: `token ${TOKEN}`,
      },
      { method: 'GET', path: '/repos/acme/ops', query: [], authorization: 'token ghs_leaky' },
    ]);
    expect(fake.requests[1]?.body).toEqual({
      message: `write ${LEDGER}`,
      content: b64('{}'),
      branch: 'main',
    });
  });

  it('octokit reports each failed request through log.error, with the x-github-request-id', async () => {
    await failure(read(LEDGER, STATE));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(
      /^error: GET \/repos\/acme\/ops\/contents\/ledger\.json\?ref=oncall-access-state - 404 with id FAKE:\d+ in \d+ms$/,
    );
    await read('README.md');
    expect(logged).toHaveLength(1);
  });
});

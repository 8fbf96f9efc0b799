// The Node Keyless is tested on: the exact version in .node-version, whose major is the one
// Electron embeds (the app itself always runs on Electron's Node). `npm start`, `npm run web` and
// `npm run bench` run on whatever `node` is first on PATH, so they say when its major differs:
// a warning, not a refusal, since most of the app still works there.
import { readFileSync } from 'node:fs';

export const pinnedNodeVersion = readFileSync(new URL('../.node-version', import.meta.url), 'utf8').trim();

/** The warning for running on `running` (default: this process's Node), or undefined on the pinned major. */
export function nodeVersionWarning(running = process.versions.node) {
  const major = (v) => v.replace(/^v/, '').split('.')[0];
  if (major(running) === major(pinnedNodeVersion)) return undefined;
  return (
    `Warning: this is Node ${running.replace(/^v/, '')}, but Keyless is built and tested on Node ${pinnedNodeVersion} ` +
    `(the Node ${major(pinnedNodeVersion)} that Electron embeds; .node-version). It may still work, but nothing was tested here. ` +
    '`bash scripts/pinned-node.sh` installs that Node from the npm registry and prints its folder: put it first on PATH ' +
    '(export PATH="$(bash scripts/pinned-node.sh):$PATH"), then npm ci.\n'
  );
}

/** Prints the warning, if any, to stderr. */
export function warnIfNotPinnedNode() {
  const warning = nodeVersionWarning();
  if (warning) process.stderr.write(warning);
}

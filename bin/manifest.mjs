// oclif.manifest.json: oclif reads it at start-up to find a command without importing every
// command module (without it, `fcast receive` imports send, demo, fec ... too: ~0.1 CPU-s per
// process, which counts when eight receivers start at once on two cores). It is generated, never
// committed: `npm run build` writes it, and bin/run.js rewrites it whenever a compiled command is
// newer than it (tests and developers run tsc directly), so help and command lookup never come
// from a stale copy.
// Built-ins through require(), not import: see bin/start.mjs (every fcast process loads this file).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { readdirSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { fileURLToPath } = require('node:url');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MANIFEST = join(ROOT, 'oclif.manifest.json');
const COMMANDS = join(ROOT, 'dist', 'src', 'commands');

function newestCommandMtime(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestCommandMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when the manifest exists and no compiled command (nor the command tree) is newer. */
export function manifestIsCurrent() {
  const m = statSync(MANIFEST, { throwIfNoEntry: false });
  if (m === undefined) return false;
  try {
    return newestCommandMtime(COMMANDS) <= m.mtimeMs;
  } catch {
    return true; // no dist/ yet: nothing to describe, oclif reports the missing commands itself
  }
}

/** Build the manifest from dist/ the way `oclif manifest` does, and write it atomically. */
export async function writeManifest() {
  const { Plugin } = await import('@oclif/core');
  const plugin = new Plugin({ root: ROOT, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true });
  await plugin.load();
  const tmp = `${MANIFEST}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(plugin.manifest));
  renameSync(tmp, MANIFEST);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await writeManifest();

// The entry of every command bundle (bin/bundle.mjs builds one per command from this file; what
// `fcast:command` and the two FCAST_COMMAND_* constants stand for is filled in per build).
// oclif runs exactly as from bin/run.js (same Config, manifest, hooks, help, error handling);
// the one difference is the seam where oclif would import the command's compiled file: it gets
// the module already inside this bundle instead, so no other file of ours or of oclif is read,
// resolved or compiled.
import { execute, ModuleLoader } from '@oclif/core';
import { join, sep } from 'node:path';
import * as command from 'fcast:command';
import { dropEarlyDigests, startEarlyDigests } from '../dist/src/store/early-digest.js';

/* global FCAST_COMMAND_ID, FCAST_COMMAND_PATH */

/** Run the CLI; `dir` is bin/run.js's URL, as bin/run.js passes it to execute(). */
export async function main(dir) {
  const load = ModuleLoader.loadWithDataFromManifest;
  // oclif reads this export at each call, so replacing it redirects its command loading.
  ModuleLoader.loadWithDataFromManifest = async (cached, root) => {
    if (cached.id === FCAST_COMMAND_ID && cached.isESM === true && cached.relativePath?.join('/') === FCAST_COMMAND_PATH) {
      return { filePath: join(root, cached.relativePath.join(sep)), isESM: true, module: command };
    }
    return load(cached, root);
  };
  return execute({ dir });
}

/**
 * Work a command can start before oclif loads: `fcast send` hashes the files its arguments name
 * (src/store/early-digest.ts). bin/start.mjs calls it with bin/run.js's argv before main(), and
 * endEarly() after.
 */
export function startEarly(argv) {
  if (FCAST_COMMAND_ID === 'send') startEarlyDigests(argv.slice(1).filter((a) => !a.startsWith('-')));
}

export function endEarly() {
  dropEarlyDigests();
}

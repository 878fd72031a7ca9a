#!/usr/bin/env node
// fcast command-line entry point (oclif). Commands live in dist/src/commands, built by `npm install`.
import { manifestIsCurrent, writeManifest } from './manifest.mjs';
import { startBundled } from './start.mjs';

// A stale or missing manifest is rewritten first (bin/manifest.mjs says why it matters). A
// read-only install that is somehow stale still runs: oclif then falls back on its own lookup.
if (!manifestIsCurrent()) await writeManifest().catch(() => undefined);

// The command's bundle when it is current (bin/start.mjs), else oclif loads it from dist/.
if (!(await startBundled(process.argv.slice(2), import.meta.url))) {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}

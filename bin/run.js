#!/usr/bin/env node
// fcast command-line entry point (oclif). Commands live in dist/src/commands, built by `npm install`.
import { execute } from '@oclif/core';
import { manifestIsCurrent, writeManifest } from './manifest.mjs';

// A stale or missing manifest is rewritten first (bin/manifest.mjs says why it matters). A
// read-only install that is somehow stale still runs: oclif then falls back on its own lookup.
if (!manifestIsCurrent()) await writeManifest().catch(() => undefined);

await execute({ dir: import.meta.url });

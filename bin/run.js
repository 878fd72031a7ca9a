#!/usr/bin/env node
// fcast command-line entry point (oclif). Commands live in dist/src/commands, built by `npm install`.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });

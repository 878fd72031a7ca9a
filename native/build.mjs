// Builds the native addon with node-gyp on `npm install`.
// A failed build must not fail the install: fcast then runs on its pure-TypeScript paths and
// says so once at run time (and `fcast doctor` reports why). So this script always exits 0.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

if (process.env.FCAST_SKIP_NATIVE === '1') {
  console.error('fcast: FCAST_SKIP_NATIVE=1, not building the native addon');
  process.exit(0);
}

let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.error('fcast: node-gyp not found; the native addon is not built (TypeScript paths will be used)');
  process.exit(0);
}

// Prefer the headers installed beside this very node binary (distribution packages ship them in
// <prefix>/include/node): they match exactly and need no download, so offline builds work.
const prefix = resolve(dirname(process.execPath), '..');
const localHeaders = existsSync(join(prefix, 'include', 'node', 'node_api.h')) && !process.env.npm_config_nodedir;
const common = ['--release', `--directory=${here}`, ...(localHeaders ? [`--nodedir=${prefix}`] : [])];

// configure + build rather than rebuild: rebuild first deletes build/, so for the whole compile a
// running fcast (or a test) would find no addon and quietly take the TypeScript paths. An
// incremental build keeps the last good addon until the linker replaces it.
const gypRun = (step) => spawnSync(process.execPath, [gyp, step, ...common], { stdio: 'inherit', env: process.env });
let r = gypRun('configure');
if (r.status === 0) r = gypRun('build');
if (r.status !== 0) {
  console.error(`fcast: building the native addon failed (exit ${r.status}); TypeScript paths will be used`);
} else {
  console.error(`fcast: native addon built at ${join(here, 'build', 'Release', 'fcast_native.node')}`);
}
process.exit(0);

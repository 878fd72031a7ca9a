// Builds the native addon with node-gyp on `npm install`.
// A failed build must not fail the install: fcast then runs on its pure-TypeScript paths and
// says so once at run time (and `fcast doctor` reports why). So this script always exits 0.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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

const r = spawnSync(process.execPath, [gyp, 'rebuild', '--release', `--directory=${here}`], {
  stdio: 'inherit',
  env: process.env,
});
if (r.status !== 0) {
  console.error(`fcast: building the native addon failed (exit ${r.status}); TypeScript paths will be used`);
} else {
  console.error(`fcast: native addon built at ${join(here, 'build', 'Release', 'fcast_native.node')}`);
}
process.exit(0);

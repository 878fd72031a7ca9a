// The registry this project installs from serves only the platform packages of the machines we run
// on (linux-x64); the other platforms' optional binaries (rollup, libp2p-quic, esbuild ...) 404, so
// `npm install` leaves them out of package-lock.json while keeping them in their parents'
// optionalDependencies, and `npm ci` then refuses the lock as "out of sync". This drops exactly
// those unresolvable optional edges. Run it after any `npm install` that changes the lock:
//   node .ci/prune-lock.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const present = new Set(Object.keys(lock.packages));
let dropped = 0;

function resolves(fromKey, name) {
  // Node resolution: nearest node_modules up the tree from the package that depends on it.
  let base = fromKey;
  for (;;) {
    if (present.has(`${base === '' ? '' : `${base}/`}node_modules/${name}`)) return true;
    if (base === '') return false;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

for (const [key, entry] of Object.entries(lock.packages)) {
  const opt = entry.optionalDependencies;
  if (!opt) continue;
  for (const name of Object.keys(opt)) {
    if (!resolves(key, name)) {
      delete opt[name];
      dropped++;
    }
  }
  if (Object.keys(opt).length === 0) delete entry.optionalDependencies;
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.error(`prune-lock: dropped ${dropped} unresolvable optional dependency edges`);

// The fast start: run a command from its bundle (dist/bundle/, written by bin/bundle.mjs) through
// V8's code cache, instead of letting oclif import the command's module graph file by file.
// `fcast receive` went from ~0.26 to ~0.11 CPU-s before its first packet (bench/README.md).
//
// Used only when the bundle is current: every dist/ file it was built from is older than it.
// Otherwise (tsc ran since `npm run build`, no bundle, FCAST_NO_BUNDLE=1) bin/run.js takes the
// ordinary oclif path, which behaves the same, only slower to start.
//
// Node built-ins come through require(): importing them as ES modules builds an export facade
// per module, and node:fs's facade alone loads the streams (~5 ms).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { fileURLToPath } = require('node:url');
const { Script } = require('node:vm');

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const BUNDLES = join(ROOT, 'dist', 'bundle');

/** The bundle of the command the leading words of argv name ("fec encode" -> fec:encode). */
function pick(argv, bundles) {
  for (let n = Math.min(argv.length, 3); n >= 1; n--) {
    const id = argv.slice(0, n).join(':');
    if (Object.hasOwn(bundles, id)) return bundles[id];
  }
  return undefined;
}

function isCurrent(file, inputs) {
  const built = statSync(file, { throwIfNoEntry: false });
  if (built === undefined) return false;
  for (const input of inputs) {
    const s = statSync(join(ROOT, input), { throwIfNoEntry: false });
    if (s === undefined || s.mtimeMs > built.mtimeMs) return false;
  }
  return true;
}

/** Help and version runs compile little: a code cache made by one would serve real runs badly. */
function isRealRun(argv) {
  return !argv.some((a) => a === '--help' || a === '-h' || a === '--version');
}

/**
 * oclif's index checks the Node version against its own engines (>=18) with semver (~3 ms of
 * loading); fcast's engines (>=20) already exclude every version it could warn about. The
 * switch is oclif's own, and only set while the bundle's modules initialise.
 */
function withoutEngineCheck(fn) {
  const saved = process.env.OCLIF_DISABLE_ENGINE_WARNING;
  process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING;
    else process.env.OCLIF_DISABLE_ENGINE_WARNING = saved;
  }
}

function saveCache(script, path) {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, path);
  } catch {
    removeFile(tmp); // a read-only installation runs without a cache
  }
}

function removeFile(path) {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}

/**
 * Run the CLI from the bundle of the command in argv; false (nothing run) when there is no
 * current bundle for it. `dir` is bin/run.js's URL, what oclif's execute() is given.
 */
export async function startBundled(argv, dir) {
  if (process.env.FCAST_NO_BUNDLE === '1') return false;
  let main;
  let script;
  let cachePath;
  let loaded;
  let early;
  try {
    const entry = pick(argv, JSON.parse(readFileSync(join(BUNDLES, 'index.json'), 'utf8')).bundles);
    const file = entry === undefined ? '' : join(BUNDLES, entry.file);
    if (entry === undefined || !isCurrent(file, entry.inputs)) return false;
    // V8 checks a cache against the source's length only: the build's content hash names it.
    cachePath = (kind) => join(BUNDLES, `${entry.file}.${entry.hash}.${kind}.v8cache`);
    let cachedData;
    for (const kind of ['full', 'partial']) {
      try {
        cachedData = readFileSync(cachePath(kind));
        loaded = kind;
        break;
      } catch {
        // not made yet
      }
    }
    const source = readFileSync(file, 'utf8');
    script = new Script(`(function (exports, require, module, __filename, __dirname, __fcast_import) {${source}\n})`, {
      filename: file,
      cachedData,
    });
    if (script.cachedDataRejected === true) loaded = undefined;
    const module = { exports: {} };
    main = withoutEngineCheck(() => {
      script.runInThisContext()(module.exports, createRequire(file), module, file, BUNDLES, (specifier) => import(specifier));
      return module.exports.main;
    });
    early = module.exports;
  } catch {
    return false; // no usable bundle: the ordinary path
  }
  // The cache is written at exit, so it holds every function the run compiled, not only the
  // top level. A run that ends in a command's own "not done" (exit 3 incomplete, 4 timeout)
  // makes a partial one; the first successful run replaces it with a full one (a receive that
  // completes has compiled decoding and verification too).
  if (isRealRun(argv) && loaded !== 'full') {
    process.once('exit', (code) => {
      if (code === 0) {
        saveCache(script, cachePath('full'));
        removeFile(cachePath('partial'));
      } else if ((code === 3 || code === 4) && loaded === undefined) {
        saveCache(script, cachePath('partial'));
      }
    });
  }
  try {
    if (isRealRun(argv)) early.startEarly?.(argv);
  } catch {
    // Speculative work only: the command does it again if need be.
  }
  try {
    await main(dir);
  } finally {
    early.endEarly?.();
  }
  return true;
}

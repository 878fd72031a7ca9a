// `node bin/bundle.mjs` (last step of `npm run build`): one CommonJS bundle per command in
// dist/bundle/, holding oclif and the command's compiled modules (bin/bundle-entry.mjs), and
// dist/bundle/index.json naming them. Why: a process spent ~0.2 CPU-s before `fcast receive`
// did any work, resolving, reading and compiling some 250 modules; eight receivers and a sender
// starting together on two cores paid that nine times. bin/start.mjs loads a bundle through
// V8's code cache, so its functions are not even compiled again.
//
// Two packages stay outside and load from node_modules when used: the QUIC library (flexicast;
// native code) and typescript (oclif's development mode only). listr2 is inside: `fcast send`
// imports it at start, and from the code cache it costs less than from node_modules (send
// start-up 0.130 vs 0.144 CPU-s, medians of 12).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'bundle');
const EXTERNAL = ['@chainsafe/libp2p-quic', 'typescript'];

// A bundle runs in a vm.Script (for the code cache), where Node 20 has no import() without
// --experimental-vm-modules, so every import() left in the output (external packages such as
// listr2, computed paths in oclif's module loader and the QUIC library's native layer) calls
// the importer bin/start.mjs passes in. The lookbehind keeps out identifiers and properties
// ending in "import"; the lookahead keeps out the text "import()" in oclif's messages.
const DYNAMIC_IMPORT = /(?<![\w$.])import\((?!\))/g;

/** Bundle file name of a command id: "fec:encode" -> "fec-encode.cjs". */
export function bundleName(id) {
  return `${id.split(':').join('-')}.cjs`;
}

async function bundleCommand(build, id, relativePath) {
  const commandFile = join(ROOT, ...relativePath);
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'bin', 'bundle-entry.mjs')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    outfile: join(OUT, bundleName(id)),
    external: EXTERNAL,
    metafile: true,
    logLevel: 'warning',
    minify: true,
    keepNames: true,
    define: {
      FCAST_COMMAND_ID: JSON.stringify(id),
      FCAST_COMMAND_PATH: JSON.stringify(relativePath.join('/')),
      'import.meta.url': '__fcast_bundle_url',
    },
    banner: { js: 'var __fcast_bundle_url = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [
      {
        name: 'fcast-command',
        setup(b) {
          b.onResolve({ filter: /^fcast:command$/ }, () => ({ path: commandFile }));
        },
      },
    ],
  });
  let text = result.outputFiles[0].text;
  const imports = text.match(DYNAMIC_IMPORT)?.length ?? 0;
  text = text.replace(DYNAMIC_IMPORT, '__fcast_import(');
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => p.startsWith('dist/'))
    .sort();
  const file = bundleName(id);
  const tmp = join(OUT, `${file}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(OUT, file));
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  return { id, entry: { file, hash, inputs }, bytes: text.length, imports };
}

/** Build every bundle; undefined when esbuild is not installed (fcast then starts the ordinary way). */
export async function bundleAll() {
  rmSync(OUT, { recursive: true, force: true });
  let build;
  try {
    ({ build } = await import('esbuild'));
  } catch {
    return undefined;
  }
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'));
  mkdirSync(OUT, { recursive: true });
  const built = await Promise.all(
    Object.entries(manifest.commands)
      .filter(([, c]) => c.isESM === true && Array.isArray(c.relativePath))
      .map(([id, c]) => bundleCommand(build, id, c.relativePath)),
  );
  const index = { bundles: Object.fromEntries(built.map((b) => [b.id, b.entry])) };
  // Last and atomically: a process that starts meanwhile finds no index and starts the ordinary way.
  const tmp = join(OUT, `index.json.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(index, null, 1)}\n`);
  renameSync(tmp, join(OUT, 'index.json'));
  return built;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await bundleAll();
  if (built === undefined) console.warn('bin/bundle.mjs: esbuild is not installed; no command bundles (fcast starts slower)');
  for (const b of built ?? []) {
    console.log(`${relative(ROOT, join(OUT, b.entry.file))}: ${(b.bytes / 1024).toFixed(0)} KiB, ${b.entry.inputs.length} files of dist/, ${b.imports} import() to the importer`);
  }
}

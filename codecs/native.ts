// The one door to the native addon (better-sqlite3's lib/binding.js habit). Everything that
// calls native code checks sizes in TypeScript first; native takes Uint8Arrays and integers.
// If the addon was not built or does not load, fcast says so once on stderr and every caller
// uses its TypeScript path instead.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the addon exports. Extended as kernels are added; abiVersion guards stale builds. */
export interface NativeAddon {
  readonly abiVersion: number;
  readonly xorPath: string;
  xorInto(dst: Uint8Array, src: Uint8Array): void;
  [kernel: string]: unknown;
}

export type NativeStatus =
  | { readonly loaded: true; readonly path: string; readonly xorPath: string }
  | { readonly loaded: false; readonly reason: string };

const EXPECTED_ABI = 1;

let cached: { addon: NativeAddon | undefined; status: NativeStatus } | undefined;
let warned = false;

function findAddon(): string | undefined {
  // Works from the sources (codecs/) and from the build (dist/codecs/).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'native', 'build', 'Release', 'fcast_native.node');
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  return undefined;
}

function load(): { addon: NativeAddon | undefined; status: NativeStatus } {
  if (process.env.FCAST_NO_NATIVE === '1') {
    return { addon: undefined, status: { loaded: false, reason: 'disabled by FCAST_NO_NATIVE=1' } };
  }
  const path = findAddon();
  if (path === undefined) {
    return { addon: undefined, status: { loaded: false, reason: 'native/build/Release/fcast_native.node not found (run npm install)' } };
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    if (addon.abiVersion !== EXPECTED_ABI) {
      return { addon: undefined, status: { loaded: false, reason: `stale build (abi ${addon.abiVersion}, want ${EXPECTED_ABI}); run npm rebuild` } };
    }
    return { addon, status: { loaded: true, path, xorPath: addon.xorPath } };
  } catch (e) {
    return { addon: undefined, status: { loaded: false, reason: `failed to load ${path}: ${(e as Error).message}` } };
  }
}

/** The addon, or undefined (after one line on stderr) when it is unavailable. */
export function getNative(): NativeAddon | undefined {
  cached ??= load();
  if (cached.addon === undefined && !warned && process.env.FCAST_NO_NATIVE !== '1') {
    warned = true;
    const s = cached.status;
    process.stderr.write(`fcast: native addon unavailable (${s.loaded ? '' : s.reason}); using TypeScript paths\n`);
  }
  return cached.addon;
}

/** For `fcast doctor`: whether the addon loaded, and why not. Never writes to stderr. */
export function nativeStatus(): NativeStatus {
  cached ??= load();
  return cached.status;
}

// The files both core-stream tests drive through the carousel sender (stream-digest.test.ts: the
// stream against digests taken with the session-7 start core; data-run.test.ts: pollRun against
// poll()): their settings, content and descriptions. The content must not change: the digests
// of stream-digest.test.ts are of streams made from exactly these bytes.
import { Rng, type CarouselFile, type FecSettings } from '../../../src/carousel/index.js';

export const E = 1400;
export const LDPC: FecSettings = { encodingId: 3, symbolSize: E, maxSourceBlockLength: 50, codeRate: 2 / 3, n1m3: 2 };

/** `n` bytes from the carousel's own PRNG, four per draw. */
export function bytesOf(n: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = rng.next();
    for (let j = 0; j < 4 && i + j < n; j++) b[i + j] = (v >>> (8 * j)) & 0xff;
  }
  return b;
}

export function fileOf(key: number, name: string, length: number): CarouselFile {
  return { key, contentLocation: name, contentLength: length, contentType: 'application/octet-stream', sha256: new Uint8Array(32).fill(key + 1), mtime: 1_700_000_000, mode: 0o644 };
}

/** 20 blocks and a short one; a file under one symbol; 3 blocks and 5 bytes. */
export const big = bytesOf(50 * E * 20 + 777, 1);
export const small = bytesOf(3000, 2);
export const mid = bytesOf(50 * E * 3 + 5, 3);

// The sessions both core-stream tests drive through the carousel sender (stream-digest.test.ts:
// the stream against digests taken with the session-7 start core; data-run.test.ts: pollRun
// against poll()): their files, content and configurations, each test adding what it varies.
// Nothing here may change: the digests of stream-digest.test.ts are of streams made from exactly
// these bytes and settings.
import { schemeFor } from '../../../codecs/index.js';
import { Rng, type CarouselFile, type FecSettings, type SenderConfig } from '../../../src/carousel/index.js';

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

/** A session to drive: reads are answered `readDelay` polls after they are asked for. */
export interface SessionCase {
  readonly name: string;
  readonly cfg: SenderConfig;
  readonly data: Uint8Array[];
  readonly readDelay: number;
}

/** One file, its repair pass with every block at once. */
export function pushOneFile(extra: Partial<SenderConfig> = {}): Omit<SessionCase, 'name'> {
  return { cfg: { tsi: 7, files: [fileOf(0, 'big.bin', big.length)], fec: LDPC, schemes: schemeFor, mode: 'push', seed: 11, reuseDatagramBuffer: true, ...extra }, data: [big], readDelay: 5 };
}

/** Three files, two cycles, a window of 4 and the repair pass in rounds (a small budget). */
export function pushThreeFiles(extra: Partial<SenderConfig> = {}): Omit<SessionCase, 'name'> {
  const files = [fileOf(0, 'big.bin', big.length), fileOf(1, 'small.bin', small.length), fileOf(2, 'mid.bin', mid.length)];
  return {
    cfg: { tsi: 8, files, fec: LDPC, schemes: schemeFor, mode: 'push', cycles: 2, seed: 12, maxActiveBlocks: 4, prefetchBlocks: 2, memoryBudget: 12 * 50 * E, ...extra },
    data: [big, small, mid],
    readDelay: 3,
  };
}

/** On demand: a No-Code file and an LDPC one. */
export function onDemandTwoFiles(extra: Partial<SenderConfig> = {}): Omit<SessionCase, 'name'> {
  const files = [fileOf(0, 'mid.bin', mid.length), fileOf(1, 'small.bin', small.length)];
  return { cfg: { tsi: 9, files, fec: LDPC, schemes: schemeFor, mode: 'on-demand', deadline: 600, seed: 13, ...extra }, data: [mid, small], readDelay: 2 };
}

// `fcast fec bench` measurements (bench/fec.mjs runs them through the CLI beside OpenFEC).
// One LDPC-Staircase block (RFC 5170) is built and timed cold each trial, the way another
// implementation would be: matrix construction is part of encoding and of every decoding.
// Reception orders are drawn with a PRNG any implementation can reproduce (bench/README.md),
// so both sides of a comparison decode exactly the same symbol sequences.
import { tsExecutor, type SymbolExecutor } from '../../codecs/ldpc-staircase/executor.js';
import { LdpcDecoder } from '../../codecs/ldpc-staircase/decoder.js';
import { encodeRepair } from '../../codecs/ldpc-staircase/encoder.js';
import { buildMatrix } from '../../codecs/ldpc-staircase/matrix.js';
import { buildNativeCode, nativeCodec, nativeCodeFor, releaseNativeCode, type NativeCode, type NativeCodec } from '../../codecs/ldpc-staircase/native-code.js';
import { NativeLdpcDecoder } from '../../codecs/ldpc-staircase/native-decoder.js';
import { encodeRepairNative } from '../../codecs/ldpc-staircase/native-encoder.js';
import { nativeStatus } from '../../codecs/native.js';
import type { BlockDecoder, SourceBlock } from '../../codecs/types.js';
import { FcastError } from '../errors.js';

/** Untimed warm-up before each measurement: runs repeat until this much time has passed. */
export const WARMUP_MS = 300;

export interface FecBenchOptions {
  readonly k: number;
  readonly n: number;
  readonly n1: number;
  readonly seed: number;
  readonly symbolSize: number;
  /** Timed runs per measurement (the median is reported). */
  readonly trials: number;
  /** Symbols handed to the ML decoder. */
  readonly mlReceived: number;
  /** Reception orders for the overhead figure (≥ 30; 0 skips it, for repeated speed runs). */
  readonly orders: number;
  readonly native: boolean;
  /**
   * Symbols per decoder call (pushBatch, as a receiver hands over one recvmmsg batch); 1 = one
   * push() per symbol. Both codecs take the same mode, so a TS/native ratio compares like for like
   * (the TypeScript pushBatch is a loop of push(): codecs/push-batch.ts).
   */
  readonly batch: number;
  /** Untimed warm-up before each measurement, ms (default WARMUP_MS; 0: one warm-up run). */
  readonly warmupMs?: number;
}

export interface Timing {
  readonly medianMs: number;
  /** The fastest timed run: on a loaded machine the closest to the code's own cost. */
  readonly minMs: number;
  /** Source bytes (k·E) per second of the median run, in 10^6 bytes. */
  readonly mbps: number;
}

/** The JSON shape shared with other implementations (bench/README.md). */
export interface FecBenchResult {
  readonly impl: string;
  readonly k: number;
  readonly n: number;
  readonly n1: number;
  readonly seed: number;
  readonly symbolSize: number;
  readonly trials: number;
  /** Symbols per decoder call (1 = push per symbol). */
  readonly batch: number;
  readonly encode: Timing;
  readonly iterative: Timing & { readonly decoded: number; readonly meanReceivedOverK: number };
  readonly ml: Timing & { readonly received: number; readonly decoded: number };
  /** Full (ML) decoder fed one symbol at a time until complete, over `orders` reception orders. */
  readonly overhead: { readonly orders: number; readonly decoded: number; readonly meanReceivedOverK: number; readonly maxReceivedOverK: number };
}

/** Reception order t: Fisher–Yates over ESIs 0..n−1 driven by x ← 16807·x mod (2^31−1), x0 = t+1. */
export function receptionOrder(t: number, n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let x = t + 1;
  for (let i = n - 1; i >= 1; i--) {
    x = (x * 16807) % 2147483647;
    const j = x % (i + 1);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}

/** The shared vectors' source rule: byte b of source symbol i is (i·31 + b·7 + 1) & 0xff. */
export function sourceBlockBytes(k: number, e: number): Uint8Array {
  const out = new Uint8Array(k * e);
  for (let i = 0; i < k; i++) for (let b = 0; b < e; b++) out[i * e + b] = (i * 31 + b * 7 + 1) & 0xff;
  return out;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const h = s.length >>> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

function timing(ms: number[], bytes: number): Timing {
  const m = median(ms);
  return { medianMs: Number(m.toFixed(4)), minMs: Number(Math.min(...ms).toFixed(4)), mbps: Number((bytes / 1e6 / (m / 1e3)).toFixed(1)) };
}

/**
 * What the bench measures: the native codec (native-decoder.ts, native-encoder.ts) when asked for
 * and loaded, else the TypeScript codec (decoder.ts, encoder.ts, matrix.ts with the TypeScript
 * executor).
 */
function pathOf(native: boolean): { executor: SymbolExecutor; matrix: typeof buildMatrix; codec: NativeCodec | undefined; label: string } {
  const codec = native ? nativeCodec() : undefined;
  const s = nativeStatus();
  const label = codec !== undefined ? `native ${s.loaded ? s.xorPath : ''}`.trim() : native ? 'typescript (native addon unavailable)' : 'typescript';
  return { executor: tsExecutor, matrix: buildMatrix, codec, label };
}

export function runFecBench(o: FecBenchOptions): FecBenchResult {
  const { k, n, n1, seed, symbolSize: e, trials } = o;
  const warmupMs = o.warmupMs ?? WARMUP_MS;
  const { executor, matrix, codec, label } = pathOf(o.native);
  const bytes = k * e;
  const source = sourceBlockBytes(k, e);
  const block: SourceBlock = { sbn: 0, k, n, offset: 0, length: bytes };
  // Every trial builds its code (matrix) cold, as OpenFEC's session does. The native decoder
  // decodes into one reused n·E arena and the native encoder into one reused repair buffer, as
  // the OpenFEC harness reuses its output block and (through malloc) its repair buffer; the
  // TypeScript encoder writes into the same reused repair buffer, and the TypeScript decoder keeps
  // its symbols in one reused n·E arena, which it zeroes inside every timed run.
  // n·E, like a receiver's pooled arena: the native decoder keeps its repair symbols in the tail.
  const output = new Uint8Array(new ArrayBuffer(n * e));
  const tsArena = codec === undefined ? new Uint8Array(n * e) : undefined;
  // A cold native code is released after its trial, untimed, as the OpenFEC harness releases its
  // session after the clock stops: the addon would free it only when the event loop runs its
  // finalizer, so in this synchronous loop every code ever built (~30 kB at k = 1000) would pile
  // up, and each trial would build its matrix in fresh memory (7-8 page faults per decode).
  // `cold: false` (the untimed overhead runs) reuses one cached code.
  let lastCode: NativeCode | undefined;
  const coldCode = (c: NativeCodec): NativeCode => (lastCode = buildNativeCode(c, k, n, n1, seed));
  const releaseCold = (): void => {
    if (lastCode !== undefined) releaseNativeCode(lastCode);
    lastCode = undefined;
  };
  const decoder = (iterativeOnly: boolean, cold = true): BlockDecoder =>
    codec === undefined
      ? new LdpcDecoder({ block, symbolSize: e, matrix: matrix(k, n, n1, seed), executor, iterativeOnly, ...(tsArena === undefined ? {} : { arena: tsArena }) })
      : new NativeLdpcDecoder(codec, cold ? coldCode(codec) : nativeCodeFor(codec, k, n, n1, seed), block, e, iterativeOnly, output);
  const repairOut = new Uint8Array(new ArrayBuffer((n - k) * e));
  const encode = (): Uint8Array => {
    if (codec === undefined) return encodeRepair(matrix(k, n, n1, seed), e, source, executor, repairOut);
    encodeRepairNative(codec, coldCode(codec), block, e, source, repairOut);
    return repairOut;
  };

  let repair: Uint8Array = new Uint8Array(0);
  const enc: number[] = [];
  // Every measurement starts with untimed warm-up runs (trial −1, repeated for warmupMs): the JIT
  // optimises the codec's hot paths, as it would have long before in a running sender or receiver.
  for (let t = -1, w = performance.now(); t < trials; t++) {
    const t0 = performance.now();
    repair = encode();
    if (t >= 0) enc.push(performance.now() - t0);
    else if (performance.now() - w < warmupMs) t--;
    releaseCold();
  }
  // Every symbol's view made once, untimed: like the pointers a C harness hands its decoder.
  const views = Array.from({ length: n }, (_, esi) => (esi < k ? source.subarray(esi * e, (esi + 1) * e) : repair.subarray((esi - k) * e, (esi - k + 1) * e)));
  const symbol = (esi: number): Uint8Array => views[esi]!;
  // Batches: every encoding symbol once in one buffer (ESI order), a batch naming its symbols by
  // offset, as a receive batch holds its datagrams in one buffer.
  const batch = o.batch;
  const all = new Uint8Array(n * e);
  all.set(source);
  all.set(repair, k * e);
  const offsets = new Uint32Array(n);
  /** Symbols order[0..to) in calls of `batch` symbols, until complete; returns how many were given. */
  const feed = (d: BlockDecoder, order: Uint32Array, to: number): number => {
    let r = 0;
    if (batch === 1) {
      while (r < to && !d.progress().complete) d.push(order[r]!, symbol(order[r++]!));
      return r;
    }
    while (r < to && !d.progress().complete) {
      const count = Math.min(batch, to - r);
      const esis = order.subarray(r, r + count);
      r += d.pushBatch(esis, all, offsets.subarray(r, r + count), count);
    }
    return r;
  };
  /** offsets[i] of order[i], made untimed (a receiver's batch arrives with its offsets). */
  const offsetsOf = (order: Uint32Array): void => {
    for (let i = 0; i < n; i++) offsets[i] = order[i]! * e;
  };
  const verify = (d: BlockDecoder, what: string): void => {
    // Views, not copies: two fresh 1-10 MB buffers per run would evict the next timed run's data
    // from the caches and feed the GC (the C harness compares in place too).
    const got = d.sourceBlock();
    if (!Buffer.from(got.buffer, got.byteOffset, got.length).equals(Buffer.from(source.buffer, source.byteOffset, source.length))) {
      throw new FcastError('INTERNAL', 'internal', `${what}: decoded block differs from the source`);
    }
  };

  const it: number[] = [];
  let itDecoded = 0;
  let itReceived = 0;
  for (let t = -1, w = performance.now(); t < trials; t++) {
    const order = receptionOrder(Math.max(t, 0), n);
    offsetsOf(order);
    const t0 = performance.now();
    const d = decoder(true);
    const r = feed(d, order, n);
    const ms = performance.now() - t0;
    releaseCold();
    if (t < 0) {
      if (performance.now() - w < warmupMs) t--;
      continue;
    }
    it.push(ms);
    if (d.progress().complete) {
      verify(d, `iterative decoding, order ${t}`);
      itDecoded++;
      itReceived += r / k;
    }
  }

  const ml: number[] = [];
  let mlDecoded = 0;
  for (let t = -1, w = performance.now(); t < trials; t++) {
    const order = receptionOrder(Math.max(t, 0), n);
    offsetsOf(order);
    const t0 = performance.now();
    const d = decoder(false);
    feed(d, order, o.mlReceived);
    const ok = d.progress().complete || d.finish();
    const ms = performance.now() - t0;
    releaseCold();
    if (t < 0) {
      if (performance.now() - w < warmupMs) t--;
      continue;
    }
    ml.push(ms);
    if (ok) {
      verify(d, `ML decoding, order ${t}`);
      mlDecoded++;
    }
  }

  let ovDecoded = 0;
  let ovSum = 0;
  let ovMax = 0;
  for (let t = 0; t < o.orders; t++) {
    const order = receptionOrder(t, n);
    const d = decoder(false, false);
    let r = 0;
    while (r < n && !d.progress().complete) d.push(order[r]!, symbol(order[r++]!));
    if (d.progress().complete) {
      ovDecoded++;
      ovSum += r / k;
      ovMax = Math.max(ovMax, r / k);
    }
  }

  return {
    impl: `fcast 0.1.0 (${label})`,
    k, n, n1, seed, symbolSize: e, trials, batch,
    encode: timing(enc, bytes),
    iterative: { ...timing(it, bytes), decoded: itDecoded, meanReceivedOverK: Number((itDecoded > 0 ? itReceived / itDecoded : 0).toFixed(4)) },
    ml: { ...timing(ml, bytes), received: o.mlReceived, decoded: mlDecoded },
    overhead: {
      orders: o.orders,
      decoded: ovDecoded,
      meanReceivedOverK: Number((ovDecoded > 0 ? ovSum / ovDecoded : 0).toFixed(4)),
      maxReceivedOverK: Number(ovMax.toFixed(4)),
    },
  };
}

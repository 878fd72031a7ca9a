// A throwaway push session of a tiny in-memory file through the carousel sender, run before the
// real one so that V8 has type feedback for every path of the send loop's hot functions (RFC 6968
// §3.4 steps as in sender.ts; nothing here goes on the wire).
//
// Why [ours]: TurboFan compiles a hot function with what it has seen so far. The sender's hot
// functions (poll, fillPipeline, emitData, packet, holdForReads ...) are optimised during the
// source pass, and every path first taken later (a block leaving the window, the repair pass, a
// repair block's encode, the close flags) deoptimises them and everything they are inlined into,
// and they are compiled again. A lone 64 MB push (loopback, --trace-opt --trace-deopt, 3 runs):
// 12-19 deopts and 33-37 TurboFan compiles before, 1-3 and 26-29 after; in the peer harness
// TurboFan was a quarter of the sender's in-run CPU (bench/multicast-peers.md, "Session 7,
// sender"). The warm-up makes ~950 packets in ~8 ms, while the digests are still computed on
// the thread pool; `bench/send-cpu-cli.ts`: 0.57-0.58 against 0.61-0.62 CPU-s per push.
// Not every path is covered: V8 allocates a function's feedback vector only after its first
// calls, and the shell's own loop (send-session.ts) is not run here.

import type { FecSettings, SchemeLookup } from './plan.js';
import { CarouselSender, DataRun } from './sender.js';

export interface WarmUpConfig {
  readonly fec: FecSettings;
  readonly schemes: SchemeLookup;
  /** As the real session will run: the shell's socket copies each datagram at once (SenderConfig). */
  readonly reuseDatagramBuffer: boolean;
  /** The shell sends data packets in runs (CarouselSender.pollRun), as its native fill does: warm that path up too. */
  readonly dataRuns?: boolean;
}

/** A warm-up run's limits: the shell's batch (64 packets) and stage. */
const RUN_PACKETS = 64;
const RUN_BYTES = 1 << 20;

/** Blocks of the warm-up file: more than its window and read-ahead, the last one short (the short last symbol's path). */
const WARM_BLOCKS = 6.5;
/** Its window W and read-ahead P: blocks leave the window and others take their place, as in a real pass. */
const WARM_WINDOW = 2;
const WARM_PREFETCH = 2;
/** Reads answered this many polls after they were asked for, so the core also waits for them (holdForReads). */
const READ_DELAY = 3;
/**
 * Sessions run: V8 allocates a function's feedback vector only after its first calls, so what
 * the first session does early on leaves no feedback; the second one records it.
 */
const RUNS = 2;
/** Bounds each session whatever the settings (one of these sessions makes a few hundred polls). */
const MAX_POLLS = 20_000;

/** Block length k of the warm-up file: small, with n − k ≥ N1 at the session's code rate (else it would be No-Code). */
function warmK(fec: FecSettings): number {
  const r = fec.codeRate;
  const k = r >= 1 ? 16 : Math.max(16, Math.ceil((12 * r) / (1 - r)));
  return Math.min(fec.maxSourceBlockLength, k);
}

/** Run the warm-up sessions; returns the packets they made (for tests; the shell ignores it). */
export function warmUpSender(cfg: WarmUpConfig): number {
  let packets = 0;
  for (let i = 0; i < RUNS; i++) packets += warmUpSession(cfg);
  return packets;
}

/** One push session of two cycles to its end, time advancing 1 ms per poll, reads answered with zeros. */
function warmUpSession(cfg: WarmUpConfig): number {
  const fec: FecSettings = { ...cfg.fec, maxSourceBlockLength: warmK(cfg.fec) };
  const length = Math.floor(WARM_BLOCKS * fec.maxSourceBlockLength * fec.symbolSize);
  const core = new CarouselSender({
    tsi: 1,
    files: [{ key: 0, contentLocation: 'warm-up', contentLength: length, contentType: 'application/octet-stream', sha256: new Uint8Array(32), mtime: 0, mode: 0o644 }],
    fec,
    schemes: cfg.schemes,
    mode: 'push',
    cycles: 2,
    maxActiveBlocks: WARM_WINDOW,
    prefetchBlocks: WARM_PREFETCH,
    closeRepeats: 1,
    reuseDatagramBuffer: cfg.reuseDatagramBuffer,
  });
  const reads: { id: number; due: number }[] = [];
  const run = cfg.dataRuns === true ? new DataRun(RUN_PACKETS) : undefined;
  let packets = 0;
  for (let now = 0; now < MAX_POLLS; now++) {
    while (reads.length > 0 && reads[0]!.due <= now) core.readDone(reads.shift()!.id);
    if (run !== undefined && core.pollRun(now, run, RUN_PACKETS, RUN_BYTES, 0) > 0) {
      packets += run.count;
      continue;
    }
    const o = core.poll(now);
    if (o.kind === 'done') break;
    if (o.kind === 'transmit') packets++;
    else if (o.kind === 'read') {
      o.target.fill(0);
      reads.push({ id: o.id, due: now + READ_DELAY });
    }
  }
  return packets;
}

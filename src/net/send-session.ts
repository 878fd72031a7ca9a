// The send loop: carousel core (src/carousel) -> pacing -> multicast socket, with file bytes read
// on the core's request (src/store/source-tree.ts). The core decides what and in which order;
// this shell keeps time (performance.now() lives here), reads, paces and sends. Reads run in the
// background while packets of other blocks go out; the core reads ahead, so a send rarely waits.

import { CarouselSender, DataRun, warmUpSender, type SenderConfig, type SenderOutput, type SenderStats, type Transmit } from '../carousel/index.js';
import { FcastError, assertNever } from '../errors.js';
import { readRange } from '../store/source-tree.js';
import type { SessionChannel } from '../wire/index.js';
import type { WebrcParams } from '../rate/index.js';
import { TokenBucket, paceAsync } from './pacer.js';
import { openMulticastSender } from './batch-send.js';
import { WebrcPacer } from './webrc-pacer.js';

/** Packets a dry bucket must hold again before the fixed-rate sender resumes (the UDP GSO cap; pacer.ts). */
const GSO_RUN = 16;

export interface SendOptions {
  /**
   * Core configuration; `deadline` is a duration from the start here (ms), see deadlineMs. A
   * promise when the files' digests are still being computed (off the main thread,
   * src/store/sha256-pool.ts): it is awaited only once the socket is open.
   */
  readonly core: SendCore | Promise<SendCore>;
  /** On-demand: how long the carousel stays on the air, ms from the first packet. */
  readonly deadlineMs?: number;
  /** File paths by CarouselFile.key. */
  readonly paths: readonly string[];
  readonly channels: readonly SessionChannel[];
  readonly family: 4 | 6;
  readonly ttl: number;
  readonly iface?: string;
  readonly source?: string;
  /** Rate in bits/s, counting IP and UDP headers. */
  readonly bitsPerSecond: number;
  /** WEBRC session: its schedule paces the packets and picks their channel (bitsPerSecond unused). */
  readonly webrc?: WebrcParams;
  readonly onProgress?: (p: SendProgress) => void;
  readonly progressMs?: number;
  /** Abort (SIGINT): the carousel closes at once (A flag bursts), then the promise resolves. */
  readonly signal?: AbortSignal;
  /** Flexicast (src/net/flex-sender.ts): seals each datagram for the encrypted flow before it is sent. */
  readonly flow?: { wrap(alc: Uint8Array): Uint8Array };
  /**
   * Checked every CHECK_DONE_MS: true = every receiver that matters has everything (e.g. the
   * expected flexicast receivers all reported complete), so the carousel closes at once (A flag
   * bursts) instead of sending the rest of its cycles.
   */
  readonly receiversDone?: () => boolean;
  /**
   * The FEC settings and schemes the core will use, known before its configuration is (the
   * digests): a warm-up session runs through the carousel core while the digests are computed
   * (src/carousel/warm-up.ts says why).
   */
  readonly warmUp?: Pick<SenderConfig, 'fec' | 'schemes'>;
}

export type SendCore = Omit<SenderConfig, 'deadline'>;

/** Why a session ended: its cycles or deadline ran out, its receivers were done, or a signal. */
export type SendEnd = 'cycles' | 'deadline' | 'receivers-complete' | 'signal';

/**
 * What stops the send loop's synchronous pump: a packet WEBRC must place on a channel (and may
 * hold back), a packet the token bucket must pace, or the socket's back-pressure.
 */
type Stall =
  | { readonly kind: 'place'; readonly tx: Transmit }
  | { readonly kind: 'pace'; readonly bytes: Uint8Array; readonly cn: number }
  | { readonly kind: 'drain'; readonly until: Promise<void> };

/** How often receiversDone is asked (ms): often enough that the close follows within a few packets' worth of a report. */
const CHECK_DONE_MS = 10;

export interface SendProgress {
  readonly elapsedMs: number;
  readonly stats: SenderStats;
  /** Achieved rate so far, bits/s on the wire (IP + UDP + ALC). */
  readonly bitsPerSecond: number;
}

export interface SendRunResult extends SendProgress {
  readonly aborted: boolean;
  readonly ended: SendEnd;
  readonly sendBufferSize: number;
  /** Local address the datagrams came from. */
  readonly localAddress: string;
  /** Blocks on the air at once (W, after the memory budget). */
  readonly windowBlocks: number;
}

const NOTHING_SENT: SenderStats = { objects: 0, cycle: 0, packets: 0, bytes: 0, cyclePackets: 0, cycleTotal: 0, bufferedBytes: 0, activeBlocks: 0, pendingReads: 0 };

/**
 * The core's configuration, or undefined if `signal` aborts first while it is still a promise (a
 * configuration given as such is returned as it is: that session closes with its A flags).
 */
function untilAborted(core: SendCore | Promise<SendCore>, signal: AbortSignal | undefined): Promise<SendCore | undefined> {
  if (signal === undefined || !(core instanceof Promise)) return Promise.resolve(core);
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    core.then(
      (c) => {
        signal.removeEventListener('abort', onAbort);
        resolve(c);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Run one carousel session to its end. */
export async function sendSession(opts: SendOptions): Promise<SendRunResult> {
  const udp = await openMulticastSender({ family: opts.family, ttl: opts.ttl, iface: opts.iface, source: opts.source });
  // The loop below sends (or seals a copy of) each datagram before it polls again, so with a
  // socket that copies at once the core can write every packet into one buffer.
  let core: CarouselSender;
  let coreConfig: SendCore;
  let t0: number;
  try {
    if (opts.warmUp !== undefined) warmUpSender({ ...opts.warmUp, reuseDatagramBuffer: udp.copiesOnSend, dataRuns: udp.runs !== undefined && opts.webrc === undefined && opts.flow === undefined });
    const ready = await untilAborted(opts.core, opts.signal);
    if (ready === undefined) {
      // Interrupted while the files were still being hashed: nothing was sent, nothing to close.
      await udp.close();
      return { elapsedMs: 0, stats: NOTHING_SENT, bitsPerSecond: 0, aborted: true, ended: 'signal', sendBufferSize: udp.sendBufferSize, localAddress: udp.address().address, windowBlocks: 0 };
    }
    coreConfig = ready;
    t0 = performance.now();
    core = new CarouselSender({
      ...coreConfig,
      reuseDatagramBuffer: udp.copiesOnSend,
      ...(opts.deadlineMs === undefined ? {} : { deadline: t0 + opts.deadlineMs }),
    });
  } catch (e) {
    await udp.close();
    throw e;
  }
  const byCn = new Map(opts.channels.map((c) => [c.cn, c]));
  const localAddress = udp.address().address;
  const overhead = opts.family === 4 ? 28 : 48;
  const bucket = new TokenBucket({ bitsPerSecond: opts.bitsPerSecond }, t0);
  const webrc = opts.webrc === undefined ? undefined : new WebrcPacer(opts.webrc, t0);
  let wireBytes = 0;
  let first: number | undefined;
  let last = t0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  // A signal that fired before we started (during hashing) still closes the session at once.
  let aborted = opts.signal?.aborted === true;
  let receiversDone = false;
  let nextDoneCheck = opts.receiversDone === undefined ? Infinity : t0;
  let nextProgress = opts.onProgress === undefined ? Infinity : t0;
  let nextTimed = Math.min(nextDoneCheck, nextProgress);
  const progressMs = opts.progressMs ?? 250;
  const progress = (now: number): SendProgress => {
    const span = first === undefined ? 0 : last - first;
    return { elapsedMs: now - t0, stats: core.stats(), bitsPerSecond: span > 0 ? (wireBytes * 8 * 1000) / span : 0 };
  };
  const onAbort = (): void => {
    aborted = true;
    wake?.();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  /** The receivers-done check and the progress report, each on its own period. */
  const timed = (now: number): void => {
    if (now >= nextDoneCheck) {
      nextDoneCheck = now + CHECK_DONE_MS;
      receiversDone = opts.receiversDone!();
      if (receiversDone) {
        nextDoneCheck = Infinity;
        core.close();
      }
    }
    if (now >= nextProgress) {
      opts.onProgress!(progress(now));
      nextProgress = now + progressMs;
    }
    nextTimed = Math.min(nextDoneCheck, nextProgress);
  };
  let lastCn = -1;
  let lastChannel: SessionChannel | undefined;
  const channelOf = (cn: number): SessionChannel => {
    if (cn === lastCn) return lastChannel!;
    const ch = byCn.get(cn);
    if (ch === undefined) throw new FcastError('INTERNAL', 'internal', `no channel ${cn}`);
    lastCn = cn;
    lastChannel = ch;
    return ch;
  };
  const wrap = (alc: Uint8Array): Uint8Array => (opts.flow === undefined ? alc : opts.flow.wrap(alc));
  // Plain data packets go in runs, filled natively into the socket's stage (batch-send.ts
  // RunSender), unless each packet needs JavaScript of its own: WEBRC places it, a flow seals it.
  const runs = webrc === undefined && opts.flow === undefined ? udp.runs : undefined;
  const run = new DataRun(64);
  /** Send the next run of data packets the bucket and the stage have room for; false = none (poll instead). */
  const sendRun = (now: number): boolean => {
    const room = runs!.roomPackets();
    if (room === 0) return false;
    const budget = Math.min(runs!.roomBytes(), bucket.available(now));
    if (core.pollRun(now, run, room, budget, overhead) === 0) return false;
    bucket.reserve(now, run.wireBytes);
    const ch = channelOf(run.channel);
    runs!.sendRun(run, ch.group, ch.port);
    last = now;
    first ??= now;
    wireBytes += run.wireBytes;
    return true;
  };
  /** Hand one datagram to the socket; a promise = back-pressure. */
  const transmit = (bytes: Uint8Array, cn: number, now: number): Promise<void> | undefined => {
    const ch = channelOf(cn);
    const sent = udp.send(bytes, ch.group, ch.port);
    last = now;
    first ??= now;
    wireBytes += bytes.length + overhead;
    return sent;
  };
  /**
   * The hot loop, synchronous and small: poll and send while the bucket has tokens and the
   * socket room, one clock read per packet. Returns what needs waiting for: a read, a wait, the
   * end, a packet the bucket (or WEBRC) must pace, or the socket's back-pressure. One async loop
   * around everything (as before) made TurboFan compile the whole send path into one large
   * function, again after each deoptimisation at a phase change (source pass, repair pass,
   * closing): 4-5 compiles of 30-100 ms per 64 MB push.
   */
  const pump = (): SenderOutput | Stall => {
    for (;;) {
      if (aborted) core.close();
      const now = performance.now();
      if (now >= nextTimed) timed(now);
      if (runs !== undefined && sendRun(now)) continue;
      const o = core.poll(now);
      if (o.kind !== 'transmit') return o;
      if (webrc !== undefined) return { kind: 'place', tx: o };
      const bytes = wrap(o.bytes);
      if (bucket.reserve(now, bytes.length + overhead) > 0) return { kind: 'pace', bytes, cn: o.channel };
      const backPressure = transmit(bytes, o.channel, now);
      if (backPressure !== undefined) return { kind: 'drain', until: backPressure };
    }
  };
  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      const o = pump();
      if (o.kind === 'done') break;
      switch (o.kind) {
        case 'place': {
          const cn = webrc!.placeNow(o.tx.bytes) ?? (await webrc!.place(o.tx.bytes));
          const backPressure = transmit(wrap(o.tx.bytes), cn, performance.now());
          if (backPressure !== undefined) await backPressure;
          break;
        }
        case 'pace': {
          await paceAsync(bucket, o.bytes.length + overhead, GSO_RUN);
          const backPressure = transmit(o.bytes, o.cn, performance.now());
          if (backPressure !== undefined) await backPressure;
          break;
        }
        case 'drain':
          await o.until;
          break;
        case 'read':
          readRange(opts.paths[o.key]!, o.fileOffset, o.target).then(
            () => {
              core.readDone(o.id);
              wake?.();
            },
            (e: unknown) => {
              failure ??= e;
              wake?.();
            },
          );
          break;
        case 'wait':
          await new Promise<void>((resolve) => {
            const timer = o.until === undefined ? undefined : setTimeout(resolve, Math.max(0, o.until - performance.now()));
            wake = () => {
              if (timer !== undefined) clearTimeout(timer);
              wake = undefined;
              resolve();
            };
          });
          break;
        case 'transmit':
          throw new FcastError('INTERNAL', 'internal', 'pump returned a transmit');
        default:
          assertNever(o);
      }
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await udp.close().catch((e: unknown) => {
      failure ??= e;
    });
  }
  if (failure !== undefined) throw failure;
  const end = progress(performance.now());
  opts.onProgress?.(end);
  const ended: SendEnd = aborted ? 'signal' : receiversDone ? 'receivers-complete' : coreConfig.mode === 'push' ? 'cycles' : 'deadline';
  return { ...end, aborted, ended, sendBufferSize: udp.sendBufferSize, localAddress, windowBlocks: core.windowSize() };
}

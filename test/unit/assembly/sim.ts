// Sender -> lossy channel -> receiver in virtual time (STYLE §7: two machines, seeded PRNG, no
// sockets, no files). The real carousel core sends; the receiver core receives; a small
// in-memory shell plays the part of src/store (spool, part files, digest check).

import { createHash } from 'node:crypto';
import type { FecEncodingId, FecOti, FecScheme } from '../../../codecs/types.js';
import { noCode } from '../../../codecs/nocode/scheme.js';
import { ldpcStaircase } from '../../../codecs/ldpc-staircase/scheme.js';
import { CarouselSender, type SenderConfig } from '../../../src/carousel/sender.js';
import type { FecSettings } from '../../../src/carousel/plan.js';
import { Receiver, type AssemblyEvent, type ReceiverOptions } from '../../../src/assembly/index.js';
import { encodeContentLocation } from '../../../src/wire/index.js';

export const SCHEMES: ReadonlyMap<FecEncodingId, FecScheme> = new Map<FecEncodingId, FecScheme>([
  [0, noCode],
  [3, ldpcStaircase],
]);

/** Mulberry32: small, seeded, good enough for loss patterns. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimFile {
  readonly path: string;
  readonly data: Uint8Array;
  readonly mtime?: number;
  readonly mode?: number;
}

export interface Channel {
  /** Random loss probability. */
  readonly loss?: number;
  /** Gilbert-Elliott bursts: probability to enter a burst, and to leave it (all lost inside). */
  readonly burstEnter?: number;
  readonly burstLeave?: number;
  /** Probability a packet is held back and delivered 1..reorderDepth packets later. */
  readonly reorder?: number;
  readonly reorderDepth?: number;
  readonly duplicate?: number;
  /** Drop everything sent before this many packets (late join). */
  readonly joinAfter?: number;
}

export interface SimOptions {
  readonly files: readonly SimFile[];
  readonly fec?: Partial<FecSettings>;
  readonly sender?: Partial<Omit<SenderConfig, 'files' | 'fec' | 'schemes' | 'tsi'>>;
  readonly channel?: Channel;
  readonly seed?: number;
  readonly receiver?: Partial<ReceiverOptions>;
  readonly maxPackets?: number;
  /** Tamper with a datagram before the receiver sees it (bad-packet tests). */
  readonly inject?: (i: number, bytes: Uint8Array) => Uint8Array[];
  /** Replace the receiver by a fresh one restored from the shell's state after this many deliveries (a crash and resume). */
  readonly restartAfter?: number;
  /** Packets lost while the receiver is down. */
  readonly downFor?: number;
  /** The restart is a clean stop (Receiver.spoolAll, then the shell drains), not a crash. */
  readonly restartClean?: boolean;
  /** Hand datagrams to Receiver.handleBatch this many at a time, packed in one buffer (as recvmmsg does), instead of handleDatagram one by one. */
  readonly batch?: number;
}

export interface SimResult {
  readonly files: Map<string, Uint8Array>;
  /** Spool records written, over all objects. */
  readonly spooled: number;
  readonly meta: Map<string, { mtime: number | undefined; mode: number | undefined }>;
  readonly receiver: Receiver;
  /** Symbols stored before the restart (0 without one). */
  readonly storedBeforeRestart: number;
  readonly events: AssemblyEvent['kind'][];
  readonly sent: number;
  readonly delivered: number;
  readonly complete: boolean;
  readonly rejected: { toi: number; code: string }[];
}

export const TSI = 0x1234;

/** In-memory shell: what src/store does with files. */
class MemShell {
  readonly spool = new Map<number, { sbn: number; esi: number; symbol: Uint8Array }[]>();
  readonly data = new Map<number, Uint8Array>();
  readonly files = new Map<string, Uint8Array>();
  readonly meta = new Map<string, { mtime: number | undefined; mode: number | undefined }>();
  readonly events: AssemblyEvent['kind'][] = [];
  readonly rejected: { toi: number; code: string }[] = [];
  readonly otis = new Map<number, FecOti>();
  readonly headers = new Map<number, Uint8Array>();
  readonly done = new Map<number, number[]>();
  readonly verified = new Set<number>();
  complete = false;

  constructor(public rx: Receiver) {}

  /** What src/store would replay after a crash, into a fresh receiver. */
  restoreInto(rx: Receiver): void {
    this.rx = rx;
    for (const [toi, oti] of this.otis) {
      rx.restoreObject(0, toi, oti, this.done.get(toi) ?? [], this.headers.get(toi), this.verified.has(toi));
      const list = this.spool.get(toi) ?? [];
      list.forEach((r, i) => rx.restoreSymbol(toi, i, r.sbn, r.esi));
      rx.restoreEnd(0, toi, list.length);
    }
  }

  drain(now: number): void {
    for (let ev = this.rx.poll(); ev !== undefined; ev = this.rx.poll()) {
      this.events.push(ev.kind);
      switch (ev.kind) {
        case 'object-open':
          this.otis.set(ev.toi, ev.oti);
          break;
        case 'spool': {
          const list = this.spool.get(ev.toi) ?? [];
          if (list.length !== ev.record) throw new Error(`record ${ev.record} out of order`);
          list.push({ sbn: ev.sbn, esi: ev.esi, symbol: ev.symbol.slice() });
          this.spool.set(ev.toi, list);
          break;
        }
        case 'spool-run': {
          const list = this.spool.get(ev.toi) ?? [];
          if (list.length !== ev.record) throw new Error(`record ${ev.record} out of order`);
          for (let i = 0; i < ev.count; i++) list.push({ sbn: ev.sbns[i]!, esi: ev.esis[i]!, symbol: ev.data.slice(ev.offsets[i]!, ev.offsets[i]! + ev.lengths[i]!) });
          this.spool.set(ev.toi, list);
          break;
        }
        case 'decode-request': {
          const list = this.spool.get(ev.toi)!;
          this.rx.decodeBlock(now, ev.toi, ev.sbn, [...ev.records].map((r) => list[r]!));
          break;
        }
        case 'object-header':
          this.data.set(ev.toi, new Uint8Array(ev.info.dataLength));
          this.headers.set(ev.toi, ev.headerBytes.slice());
          break;
        case 'block-data':
          this.data.get(ev.toi)!.set(ev.bytes, ev.fileOffset);
          this.done.set(ev.toi, [...(this.done.get(ev.toi) ?? []), ev.sbn]);
          break;
        case 'object-decoded': {
          const bytes = this.data.get(ev.toi) ?? new Uint8Array(0);
          const ok = ev.info.sha256 === undefined || createHash('sha256').update(bytes).digest().equals(ev.info.sha256);
          if (ok) {
            this.files.set(ev.info.path!, bytes);
            this.meta.set(ev.info.path!, { mtime: ev.info.mtime, mode: ev.info.mode });
            this.verified.add(ev.toi);
            this.rx.objectVerified(ev.toi);
          } else {
            this.rx.objectFailed(ev.toi, 'FCAST_DIGEST', ev.info.path!);
          }
          break;
        }
        case 'object-rejected':
          this.rejected.push({ toi: ev.toi, code: ev.code });
          break;
        case 'instance-complete':
          this.complete = true;
          break;
        default:
          break;
      }
    }
  }
}

export function simulate(o: SimOptions): SimResult {
  const fec: FecSettings = { encodingId: 3, symbolSize: 256, maxSourceBlockLength: 64, codeRate: 2 / 3, n1m3: 0, ...o.fec };
  const contents = o.files.map((f) => f.data);
  const sender = new CarouselSender({
    tsi: TSI,
    files: o.files.map((f, key) => ({
      key,
      contentLocation: encodeContentLocation(f.path),
      contentLength: f.data.length,
      contentType: 'application/octet-stream',
      sha256: createHash('sha256').update(f.data).digest(),
      mtime: f.mtime ?? 1_700_000_000,
      mode: f.mode ?? 0o644,
    })),
    fec,
    schemes: (id) => SCHEMES.get(id)!,
    mode: 'on-demand',
    deadline: 1e12,
    seed: o.seed ?? 1,
    cidIntervalMs: 50,
    ...o.sender,
  });
  let rx = new Receiver({ schemes: SCHEMES, cciLength: 4, ...o.receiver });
  const shell = new MemShell(rx);
  let storedBeforeRestart = 0;
  let downUntil = -1;
  const random = rng((o.seed ?? 1) * 7919 + 13);
  const ch = o.channel ?? {};
  const held: { due: number; bytes: Uint8Array }[] = [];
  let burst = false;
  let now = 0;
  let sent = 0;
  let delivered = 0;
  const maxPackets = o.maxPackets ?? 200_000;
  const batch: Uint8Array[] = [];
  const flushBatch = (): void => {
    if (batch.length === 0) return;
    const offsets = new Uint32Array(batch.length);
    const lengths = new Uint32Array(batch.length);
    const data = new Uint8Array(batch.reduce((n, b) => n + b.length + 3, 0));
    let at = 0;
    batch.forEach((b, i) => {
      offsets[i] = at;
      lengths[i] = b.length;
      data.set(b, at);
      at += b.length + 3; // gaps between datagrams, like recvmmsg's slots
    });
    rx.handleBatch(now, data, offsets, lengths, batch.length, '10.0.0.1');
    batch.length = 0;
    shell.drain(now);
  };
  const deliver = (bytes: Uint8Array): void => {
    if (sent < downUntil) return;
    if (o.restartAfter !== undefined && delivered === o.restartAfter) {
      flushBatch();
      if (o.restartClean === true) {
        rx.spoolAll();
        shell.drain(now);
      }
      storedBeforeRestart = rx.receiverStats().symbols;
      rx = new Receiver({ schemes: SCHEMES, cciLength: 4, ...o.receiver, tsi: TSI });
      shell.restoreInto(rx);
      shell.drain(now);
      downUntil = sent + (o.downFor ?? 0);
      delivered++;
      return;
    }
    delivered++;
    if (o.batch === undefined) {
      rx.handleDatagram(now, bytes, '10.0.0.1');
      shell.drain(now);
      return;
    }
    batch.push(bytes.slice());
    if (batch.length >= o.batch) flushBatch();
  };
  while (!shell.complete && sent < maxPackets) {
    const out = sender.poll(now);
    if (out.kind === 'done') break;
    if (out.kind === 'read') {
      out.target.set(contents[out.key]!.subarray(out.fileOffset, out.fileOffset + out.target.length));
      sender.readDone(out.id);
      continue;
    }
    if (out.kind === 'wait') {
      now = out.until ?? now + 1;
      continue;
    }
    now += 0.01;
    sent++;
    for (let i = held.length - 1; i >= 0; i--) {
      if (held[i]!.due <= sent) {
        const h = held.splice(i, 1)[0]!;
        deliver(h.bytes);
      }
    }
    if (sent <= (ch.joinAfter ?? 0)) continue;
    if (ch.burstEnter !== undefined) {
      if (burst) burst = random() >= (ch.burstLeave ?? 0.5);
      else burst = random() < ch.burstEnter;
      if (burst) continue;
    }
    if (ch.loss !== undefined && random() < ch.loss) continue;
    const datagrams = o.inject ? o.inject(sent, out.bytes) : [out.bytes];
    for (const d of datagrams) {
      if (ch.reorder !== undefined && random() < ch.reorder) {
        held.push({ due: sent + 1 + Math.floor(random() * (ch.reorderDepth ?? 8)), bytes: d });
        continue;
      }
      deliver(d);
      if (ch.duplicate !== undefined && random() < ch.duplicate) deliver(d);
    }
  }
  flushBatch();
  let spooled = 0;
  for (const list of shell.spool.values()) spooled += list.length;
  return { files: shell.files, spooled, meta: shell.meta, receiver: rx, storedBeforeRestart, events: shell.events, sent, delivered, complete: shell.complete, rejected: shell.rejected };
}

/** Deterministic pseudo-random bytes. */
export function bytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

// A receiver on part of an on-demand carousel's packets, in virtual time: the real carousel
// core (src/carousel/sender.ts) sends, a WEBRC SenderSchedule (src/carousel/channels.ts,
// ChannelSlots) or a fixed rate times and places the packets, a predicate says which ones this
// receiver gets (its joined channels, a random fraction, a periodic on/off pattern, a late
// join), and real LDPC-Staircase decoders count what each block needed: packets received,
// duplicate ESIs, when each block completed. No sockets, files or clocks.

import { createHash } from 'node:crypto';
import { schemeFor } from '../../../codecs/index.js';
import type { BlockDecoder } from '../../../codecs/types.js';
import { ChannelSlots } from '../../../src/carousel/channels.js';
import type { FecSettings } from '../../../src/carousel/plan.js';
import { CarouselSender, type SenderConfig } from '../../../src/carousel/sender.js';
import type { ScheduledPacket, WebrcParams } from '../../../src/rate/index.js';
import { decodeAlcPacket } from '../../../src/wire/index.js';

/** What the receiver is offered: the packet's slot (WEBRC) or undefined (fixed rate), its time, its index. */
export type Accept = (at: number, slot: ScheduledPacket | undefined, index: number) => boolean;

export interface OverheadOptions {
  readonly fileBytes: number;
  readonly fec: FecSettings;
  readonly sender?: Partial<Omit<SenderConfig, 'files' | 'fec' | 'schemes' | 'tsi' | 'mode' | 'deadline'>>;
  /** WEBRC schedule; without it packets go out at `fixedRate` packets/s. */
  readonly webrc?: WebrcParams;
  readonly fixedRate?: number;
  readonly accept: Accept;
  /** Give up after this many packets sent. */
  readonly maxPackets: number;
}

export interface BlockOutcome {
  readonly k: number;
  /** Packets of this block the receiver got until the whole file was complete (duplicates included). */
  readonly received: number;
  /** Packets it got until this block completed. */
  readonly neededForBlock: number;
  /** ESIs it got a second (third ...) time before this block completed. */
  readonly duplicates: number;
  /** Sender's packet index at which the block completed (-1: never). */
  readonly completedAt: number;
}

export interface OverheadResult {
  readonly complete: boolean;
  /** File data packets the receiver got until complete, over the file's source symbols. */
  readonly ratio: number;
  readonly received: number;
  readonly sourceSymbols: number;
  /** Duplicate ESIs received before their block completed, over all blocks. */
  readonly duplicates: number;
  /** Packets sent in one cycle of the file (n per block), and packets sent until complete. */
  readonly cyclePackets: number;
  readonly sentUntilComplete: number;
  /** Packets the receiver was offered (accepted) from its first to its last. */
  readonly firstAccepted: number;
  readonly blocks: readonly BlockOutcome[];
}

interface BlockState {
  readonly decoder: BlockDecoder;
  readonly seen: Uint8Array;
  received: number;
  neededForBlock: number;
  duplicates: number;
  completedAt: number;
}

/** Deterministic pseudo-random file bytes (content does not matter, only that it decodes exactly). */
function fileBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 0x1234567;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function runOverhead(o: OverheadOptions): OverheadResult {
  const data = fileBytes(o.fileBytes);
  const sender = new CarouselSender({
    tsi: 7,
    files: [{ key: 0, contentLocation: 'f.bin', contentLength: data.length, contentType: 'application/octet-stream', sha256: createHash('sha256').update(data).digest(), mtime: 0, mode: 0o644 }],
    fec: o.fec,
    schemes: schemeFor,
    mode: 'on-demand',
    deadline: 1e9,
    cidIntervalMs: 1e12,
    ...o.sender,
  });
  const obj = sender.planned()[1]!;
  const blocks: BlockState[] = obj.plan.blocks.map((b) => ({
    decoder: obj.scheme.createDecoder(obj.plan, b.sbn),
    seen: new Uint8Array(b.n),
    received: 0,
    neededForBlock: 0,
    duplicates: 0,
    completedAt: -1,
  }));
  const slots = o.webrc === undefined ? undefined : new ChannelSlots(o.webrc, 0);
  const gap = 1000 / (o.fixedRate ?? 1000);
  let now = 0;
  let sent = 0;
  let left = blocks.length;
  let firstAccepted = -1;
  while (left > 0 && sent < o.maxPackets) {
    const out = sender.poll(now);
    if (out.kind === 'done') break;
    if (out.kind === 'read') {
      out.target.set(data.subarray(out.fileOffset, out.fileOffset + out.target.length));
      sender.readDone(out.id);
      continue;
    }
    if (out.kind === 'wait') throw new Error('on-demand carousel waited with its reads done');
    let slot: ScheduledPacket | undefined;
    if (slots !== undefined) {
      now = Math.max(now, slots.due());
      slot = slots.place(now, out.bytes);
    } else {
      now += gap;
    }
    const index = sent++;
    if (out.toi !== obj.toi || !o.accept(now, slot, index)) continue;
    if (firstAccepted < 0) firstAccepted = index;
    const b = blocks[out.sbn]!;
    b.received++;
    if (b.completedAt >= 0) continue;
    b.neededForBlock++;
    if (b.seen[out.esi]! > 0) b.duplicates++;
    b.seen[out.esi] = 1;
    b.decoder.push(out.esi, decodeAlcPacket(out.bytes).payload);
    if (b.decoder.progress().complete || (b.decoder.progress().received >= obj.plan.blocks[out.sbn]!.k && b.decoder.finish())) {
      b.completedAt = index;
      left--;
    }
  }
  const received = blocks.reduce((s, b) => s + b.received, 0);
  const sourceSymbols = obj.plan.blocks.reduce((s, b) => s + b.k, 0);
  return {
    complete: left === 0,
    ratio: received / sourceSymbols,
    received,
    sourceSymbols,
    duplicates: blocks.reduce((s, b) => s + b.duplicates, 0),
    cyclePackets: obj.slots,
    sentUntilComplete: sent,
    firstAccepted,
    blocks: blocks.map((b, sbn) => ({ k: obj.plan.blocks[sbn]!.k, received: b.received, neededForBlock: b.neededForBlock, duplicates: b.duplicates, completedAt: b.completedAt })),
  };
}

/** A WEBRC receiver holding the base channel and the `layers` lowest active waves (those that end soonest), as a steady receiver does. */
export function onLayers(params: WebrcParams, layers: number): Accept {
  // The layer-th lowest wave at slot s has CN (CTSI(s) + layer − 1) mod T (SenderSchedule.rates).
  return (_at, slot) => {
    if (slot === undefined) return true;
    if (slot.cn === params.baseCn) return true;
    const layer = (((slot.cn - slot.ctsi) % params.t) + params.t) % params.t + 1;
    return layer <= layers;
  };
}

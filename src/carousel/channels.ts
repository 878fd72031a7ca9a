// The carousel's packet stream on WEBRC channels (RFC 3738 §3.1.2, §4.1, §5.1; RFC 5651 §5.1;
// SPEC-NOTES §2.6, §6.1, §6.2, §7 row 20). Pure: no clock is read, `now` comes from the shell.
//
// Channel map [ours]: `--to GROUP:PORT` is the base channel (CN = T), and wave channel CN = c
// (0 <= c < T) is the group c + 1 addresses above it, same port: 239.1.1.10:4000 gives the base
// 239.1.1.10, waves 239.1.1.11 ... 239.1.1.(10+T). Separate groups (not ports) because IGMP/MLD
// snooping and multicast routing act per group: a leave must really stop a layer's traffic. The
// base at the given address means a receiver that knows only GROUP:PORT still hears the session
// (at the base rate). IPv6 adds c + 1 to the 32-bit group ID (the last 32 bits).
//
// Slots: the SenderSchedule says when the next packet is due and on which channel; the carousel
// fills every slot with its next datagram, whatever the channel. All channels therefore carry
// the same mix of encoding symbols (fungible under FEC, RFC 3453 §2.3): a receiver on fewer
// layers gets a random subset and still makes progress. No slot is ever skipped, since receivers
// count a PSN gap as a loss: a carousel that falls behind sends the overdue slots at once.

import { FcastError, LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { CCI_LENGTH, decodeCci, SenderSchedule, type Cci, type ScheduledPacket, type WebrcParams } from '../rate/index.js';

export interface WebrcChannel {
  readonly cn: number;
  readonly group: string;
  readonly port: number;
}

/** Offset of the CCI in an LCT header: right after the first 32-bit word (RFC 5651 §5.1). */
const CCI_OFFSET = 4;

/** The T + 1 channels of a WEBRC session whose base channel is `group:port` (map in the file comment). */
export function webrcChannels(group: string, port: number, t: number): WebrcChannel[] {
  const out: WebrcChannel[] = [];
  for (let cn = 0; cn < t; cn++) out.push({ cn, group: offsetGroup(group, cn + 1), port });
  out.push({ cn: t, group, port });
  return out;
}

/** `group` plus `n` (IPv4: the whole address; IPv6: the 32-bit group ID); stays multicast or throws USAGE. */
export function offsetGroup(group: string, n: number): string {
  if (group.includes(':')) return offsetGroup6(group, n);
  const parts = group.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new LocalProtocolError('USAGE', `${group} is not an IPv4 address`);
  }
  const value = (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) + n;
  // 224.0.0.0/24 is link-local control traffic (IGMP, routing protocols): never a data channel.
  if (value > 0xefff_ffff || value >>> 24 < 224 || value >>> 8 === 0xe00000) {
    throw new LocalProtocolError('USAGE', `${group} + ${n} leaves the multicast data range: choose a lower base group`);
  }
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

function offsetGroup6(group: string, n: number): string {
  const halves = group.split('::');
  if (halves.length > 2) throw new LocalProtocolError('USAGE', `${group} is not an IPv6 address`);
  const words = (s: string | undefined): number[] => (s === undefined || s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const head = words(halves[0]);
  const tail = words(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  if (all.length !== 8 || all.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) {
    throw new LocalProtocolError('USAGE', `${group} is not an IPv6 address`);
  }
  const id = all[6]! * 0x10000 + all[7]! + n;
  if (id > 0xffff_ffff) throw new LocalProtocolError('USAGE', `${group} + ${n} overflows the group ID: choose a lower base group`);
  all[6] = Math.floor(id / 0x10000);
  all[7] = id % 0x10000;
  return all.map((w) => w.toString(16)).join(':');
}

/** Write a short CCI into an ALC datagram built with C = 0 (every datagram our carousel makes). */
export function writeCci(datagram: Uint8Array, cci: Uint8Array): void {
  if (datagram.length < CCI_OFFSET + CCI_LENGTH || ((datagram[0]! >> 2) & 3) !== 0) {
    throw new FcastError('INTERNAL', 'internal', 'datagram has no 32-bit CCI to stamp');
  }
  datagram.set(cci, CCI_OFFSET);
}

/**
 * The CCI of a received datagram, checked against T (SPEC-NOTES §7 row 20): a datagram too short,
 * of another LCT version or with a long CCI is RemoteProtocolError LCT_CCI_LENGTH; CTSI >= T or
 * CN > T is WEBRC_CCI. The caller counts and drops it.
 */
export function readCci(datagram: Uint8Array, t: number): Cci {
  if (datagram.length < CCI_OFFSET + CCI_LENGTH || datagram[0]! >> 4 !== 1 || ((datagram[0]! >> 2) & 3) !== 0) {
    throw new RemoteProtocolError('LCT_CCI_LENGTH', 'not an LCT packet with a 32-bit CCI');
  }
  return decodeCci(datagram.subarray(CCI_OFFSET, CCI_OFFSET + CCI_LENGTH), t);
}

/**
 * Hands out the schedule's packet slots one datagram at a time: `due()` says when the next slot
 * is due; `place(now, datagram)` stamps the slot's CCI into the datagram and returns the slot,
 * or undefined when no slot is due yet.
 */
export class ChannelSlots {
  readonly schedule: SenderSchedule;

  constructor(readonly params: WebrcParams, startMs: number) {
    this.schedule = new SenderSchedule(params, startMs);
  }

  due(): number {
    return this.schedule.nextTimeout();
  }

  place(now: number, datagram: Uint8Array): ScheduledPacket | undefined {
    const slot = this.schedule.next(now);
    if (slot !== undefined) writeCci(datagram, slot.cci);
    return slot;
  }
}

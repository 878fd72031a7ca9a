// The shared flexicast flow, encrypted and authenticated once per packet (issue 6; Flexicast
// QUIC design, research/quic.md §3.4). Every admitted receiver holds the flow secret of the
// current epoch (KEY frame, src/wire/flexicast.ts), so the same ciphertext is valid for all of
// them and one copy per channel is enough. Anonymous receivers and forgers cannot read or inject.
//
//   flow packet = 0xF1 | epoch u32 | seq u48 | AES-256-GCM(ALC packet) | tag (16)
//
// The first byte cannot start an LCT header (LCT version 1 puts 0x1_ in the top nibble,
// RFC 5651 §5.1), so a receiver tells flow packets from plain ALC at a glance. Per-epoch key and
// IV come from HKDF-SHA256 (RFC 5869) over the flow secret, bound to the flow id and epoch. The
// nonce is IV XOR seq (the QUIC construction, RFC 9001 §5.3): with one key per epoch and seq
// strictly increasing inside it, no nonce is ever used twice. The header is the AEAD's
// associated data, so epoch and seq cannot be altered either. Replays are caught by a sliding
// window per epoch after authentication (RFC 4303 §3.4.3 style), so forged packets never move it.
// A receiver may get the flow two ways at once, by multicast and as the sender's FC-msg copies
// (src/net/flex-sender.ts: while 'auto' finds no receiver on multicast, every registered receiver
// gets the copies, its own multicast notwithstanding): a packet seen again on the other way is an
// expected duplicate, counted apart (`duplicates`); seen again the same way it is FLEX_REPLAY.
// Both are dropped alike; the split is only what the counts tell an operator.
//
// Not covered, by decision (issue 6, measured with bench/flexicast-sign.ts): the flow key is shared,
// so an admitted receiver could forge flow packets to the other members (outsiders cannot). A
// per-packet Ed25519 signature would stop that but costs 6-8x the AEAD at the sender and ~20x at
// a receiver (sign 41-43 us, verify 87-104 us per packet here: ~30 s sender / 62-74 s receiver CPU
// per GB; bench/README.md). One signature per B packets over their
// SHA-256 digests costs about the AEAD again (+4.6 us sender, +5.3 us receiver per packet with
// node:crypto hashing, B = 64), holds B packets back and turns one lost signature packet into B
// lost packets; receivers' per-packet CPU is what limits a fleet on small machines today, so it is
// left out until hashing runs native and batched: OpenSSL's SHA-256 alone takes 0.96 us per
// 1427-byte packet here (`openssl speed -evp sha256 -bytes 1427`, 1.48 GB/s; AES-256-GCM 0.95 us),
// so most of the 4-5 us is node:crypto's per-call overhead, which one call per B packets removes.
// So a member that forges symbols makes the others reject an object (its SHA-256 in the FCAST
// header no longer matches), and one that also forges the header block first can substitute the
// object: admit only receivers trusted as much as the sender, or receive with --no-multicast
// (everything over the receiver's own QUIC connection, authenticated by the sender's key).
//
// Pure computation: AES-GCM runs in the native addon (OpenSSL EVP, one call per packet) or, without
// it, in node:crypto; both give identical bytes. @noble/hashes does HKDF. No I/O, no clock.

import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { getNative } from '../../codecs/native.js';
import { FcastError, LocalProtocolError, RemoteProtocolError, type ErrorCode } from '../errors.js';
import { Reader, Writer } from '../wire/cursor.js';
import { FLEX_SECRET_BYTES } from '../wire/flexicast.js';

export const FLOW_MAGIC = 0xf1;
export const FLOW_HEADER_BYTES = 11;
export const FLOW_TAG_BYTES = 16;
/** Bytes a flow packet adds to the ALC packet it carries. */
export const FLOW_OVERHEAD = FLOW_HEADER_BYTES + FLOW_TAG_BYTES;
/** AES-GCM confidentiality limit per key (RFC 9001 §6.6): rotate before this many packets. */
export const FLOW_PACKET_LIMIT = 2 ** 23;
const MAX_SEQ = 2 ** 48 - 1;
const SALT = new TextEncoder().encode('fcast flexicast flow v1');

/** The AEAD key and IV of one epoch of one flow. */
export interface FlowKey {
  readonly flowId: number;
  readonly epoch: number;
  /** Raw AES key bytes, for the native path. */
  readonly raw: Uint8Array;
  /** The same key as a KeyObject: node:crypto then skips re-importing it on every packet (~2x faster). */
  readonly key: KeyObject;
  readonly iv: Uint8Array;
}

/** Derive the epoch's key (32 bytes) and IV (12 bytes) from its 32-byte flow secret. */
export function deriveFlowKey(flowId: number, epoch: number, secret: Uint8Array): FlowKey {
  if (secret.length !== FLEX_SECRET_BYTES) throw new LocalProtocolError('FLEX_VALUE', `flow secret of ${secret.length} bytes`);
  const info = new Uint8Array(8 + 'flow key'.length);
  const w = new Writer(info);
  w.u32(flowId);
  w.u32(epoch);
  w.bytes(new TextEncoder().encode('flow key'));
  const okm = hkdf(sha256, secret, SALT, info, 44);
  const raw = okm.slice(0, 32);
  return { flowId, epoch, raw, key: createSecretKey(raw), iv: okm.slice(32, 44) };
}

// Scratch for the per-packet nonce: both AEAD paths copy it, so one buffer serves every call.
const nonceScratch = new Uint8Array(12);

function nonce(iv: Uint8Array, seq: number): Uint8Array {
  const n = nonceScratch;
  n.set(iv);
  let s = seq;
  for (let i = 11; i >= 6; i--) {
    n[i]! ^= s & 0xff;
    s = Math.floor(s / 256);
  }
  return n;
}

/** Epoch and sequence of a flow packet, checked for shape only (not authenticated yet). */
export function peekFlowHeader(packet: Uint8Array): { epoch: number; seq: number } {
  if (packet.length < FLOW_OVERHEAD) throw new RemoteProtocolError('FLEX_LENGTH', `flow packet of ${packet.length} bytes`);
  const r = new Reader(packet, 0, FLOW_HEADER_BYTES);
  if (r.u8() !== FLOW_MAGIC) throw new RemoteProtocolError('FLEX_VERSION', 'not a flow packet');
  const epoch = r.u32();
  return { epoch, seq: r.u48() };
}

/** One AES-256-GCM packet operation pair; `out` is caller-owned, sized by the caller. */
export interface FlowAead {
  readonly name: 'native' | 'node:crypto';
  /** Encrypt `plaintext` with out[0, headerLen) as AAD; writes ciphertext and tag after the header. */
  seal(key: FlowKey, nonce: Uint8Array, out: Uint8Array, headerLen: number, plaintext: Uint8Array): void;
  /** Decrypt packet[headerLen, len - 16) into `out`; false when authentication fails. */
  open(key: FlowKey, nonce: Uint8Array, packet: Uint8Array, headerLen: number, out: Uint8Array): boolean;
}

/** node:crypto: five calls and a Cipheriv object per packet, always available. */
export const nodeAead: FlowAead = {
  name: 'node:crypto',
  seal(key, nonce, out, headerLen, plaintext) {
    const c = createCipheriv('aes-256-gcm', key.key, nonce);
    c.setAAD(out.subarray(0, headerLen));
    out.set(c.update(plaintext), headerLen);
    c.final();
    out.set(c.getAuthTag(), headerLen + plaintext.length);
  },
  open(key, nonce, packet, headerLen, out) {
    const tagAt = packet.length - FLOW_TAG_BYTES;
    const d = createDecipheriv('aes-256-gcm', key.key, nonce);
    d.setAAD(packet.subarray(0, headerLen));
    d.setAuthTag(packet.subarray(tagAt));
    out.set(d.update(packet.subarray(headerLen, tagAt)));
    try {
      d.final();
      return true;
    } catch {
      return false;
    }
  },
};

interface AeadAddon {
  aeadSeal(key: Uint8Array, nonce: Uint8Array, header: Uint8Array, plaintext: Uint8Array, out: Uint8Array): number;
  aeadOpen(key: Uint8Array, nonce: Uint8Array, packet: Uint8Array, headerLen: number, out: Uint8Array): number;
}

/**
 * The addon's one-call AES-256-GCM over the OpenSSL Node links (native/src/flow_aead.cc), 3-5x
 * less CPU per packet than node:crypto here; undefined without the addon.
 */
export function nativeAead(): FlowAead | undefined {
  const a = getNative();
  if (a === undefined || typeof a['aeadSeal'] !== 'function' || typeof a['aeadOpen'] !== 'function') return undefined;
  const n = a as unknown as AeadAddon;
  return {
    name: 'native',
    seal(key, nonce, out, headerLen, plaintext) {
      if (n.aeadSeal(key.raw, nonce, out.subarray(0, headerLen), plaintext, out) < 0) {
        throw new FcastError('INTERNAL', 'internal', 'AES-GCM seal failed');
      }
    },
    open(key, nonce, packet, headerLen, out) {
      return n.aeadOpen(key.raw, nonce, packet, headerLen, out) >= 0;
    },
  };
}

let aead: FlowAead | undefined;

/** The AEAD path in use: native when the addon has it, node:crypto otherwise. */
export function flowAead(): FlowAead {
  aead ??= nativeAead() ?? nodeAead;
  return aead;
}

/** Encrypt one ALC packet as flow packet `seq` of `key`'s epoch. The caller never repeats a seq. */
export function sealFlowPacket(key: FlowKey, seq: number, plaintext: Uint8Array, impl: FlowAead = flowAead()): Uint8Array {
  if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQ) throw new LocalProtocolError('FLEX_VALUE', `flow seq ${seq}`);
  const out = new Uint8Array(FLOW_OVERHEAD + plaintext.length);
  const w = new Writer(out);
  w.u8(FLOW_MAGIC);
  w.u32(key.epoch);
  w.u48(seq);
  impl.seal(key, nonce(key.iv, seq), out, FLOW_HEADER_BYTES, plaintext);
  return out;
}

/** Decrypt and authenticate a flow packet under `key`; FLEX_AUTH when it was forged or altered. */
export function openFlowPacket(key: FlowKey, packet: Uint8Array, impl: FlowAead = flowAead()): Uint8Array {
  const { epoch, seq } = peekFlowHeader(packet);
  if (epoch !== key.epoch) throw new RemoteProtocolError('FLEX_EPOCH', `packet epoch ${epoch}, key epoch ${key.epoch}`);
  const out = new Uint8Array(packet.length - FLOW_OVERHEAD);
  if (!impl.open(key, nonce(key.iv, seq), packet, FLOW_HEADER_BYTES, out)) {
    throw new RemoteProtocolError('FLEX_AUTH', `epoch ${epoch} seq ${seq}`);
  }
  return out;
}

/**
 * Sliding replay window over flow sequence numbers (one per epoch): accepts each seq once, and
 * nothing more than `size` below the highest seen.
 */
export class ReplayWindow {
  private readonly bits: Uint8Array;
  /** Per seq in the window: it came as an FC-msg copy (else by multicast). */
  private readonly copyBits: Uint8Array;
  private highest = -1;

  constructor(readonly size = 4096) {
    if (!Number.isInteger(size) || size < 8 || size % 8 !== 0) throw new LocalProtocolError('CONFIG', `replay window ${size}`);
    this.bits = new Uint8Array(size / 8);
    this.copyBits = new Uint8Array(size / 8);
  }

  private bit(seq: number): [number, number] {
    const i = seq % this.size;
    return [i >>> 3, 1 << (i & 7)];
  }

  /** Whether `seq` would be accepted; does not record it. */
  check(seq: number): 'fresh' | 'replay' | 'old' {
    if (seq > this.highest) return 'fresh';
    if (this.highest - seq >= this.size) return 'old';
    const [byte, mask] = this.bit(seq);
    return (this.bits[byte]! & mask) !== 0 ? 'replay' : 'fresh';
  }

  /** Whether a seq `check` called a replay first came as an FC-msg copy. */
  cameAsCopy(seq: number): boolean {
    const [byte, mask] = this.bit(seq);
    return (this.copyBits[byte]! & mask) !== 0;
  }

  /** Record `seq` (after it authenticated and `check` said fresh), and whether it came as a copy. */
  commit(seq: number, copy = false): void {
    if (seq > this.highest) {
      if (seq - this.highest >= this.size) {
        this.bits.fill(0);
      } else {
        for (let s = this.highest + 1; s < seq; s++) {
          const [byte, mask] = this.bit(s);
          this.bits[byte]! &= ~mask;
        }
      }
      this.highest = seq;
    }
    const [byte, mask] = this.bit(seq);
    this.bits[byte]! |= mask;
    if (copy) this.copyBits[byte]! |= mask;
    else this.copyBits[byte]! &= ~mask;
  }
}

/** Sender side: seals the flow under the current epoch with a strictly increasing seq. */
export class FlowSealer {
  private key: FlowKey;
  private seq = 0;

  constructor(key: FlowKey) {
    this.key = key;
  }

  get epoch(): number {
    return this.key.epoch;
  }

  /** Packets sealed under the current epoch; rotate well before FLOW_PACKET_LIMIT. */
  get packetsInEpoch(): number {
    return this.seq;
  }

  /** Switch to a newer epoch (its KEY was sent to every member beforehand). */
  rotate(key: FlowKey): void {
    if (key.epoch <= this.key.epoch) throw new LocalProtocolError('FLEX_VALUE', `epoch ${key.epoch} after ${this.key.epoch}`);
    this.key = key;
    this.seq = 0;
  }

  seal(alcPacket: Uint8Array): Uint8Array {
    if (this.seq >= FLOW_PACKET_LIMIT) throw new LocalProtocolError('FLEX_VALUE', `epoch ${this.key.epoch} used up; rotate`);
    return sealFlowPacket(this.key, this.seq++, alcPacket);
  }
}

export type FlowDropCode = Extract<ErrorCode, 'FLEX_AUTH' | 'FLEX_REPLAY' | 'FLEX_EPOCH' | 'FLEX_LENGTH' | 'FLEX_VERSION'>;

/**
 * Receiver side: holds the keys of a few epochs (the current one, the next one handed out before
 * a rotation, and the previous one for late packets) with a replay window each. Bad packets are
 * counted by code and dropped; `open` returns the ALC packet or undefined.
 */
export class FlowOpener {
  private readonly epochs = new Map<number, { key: FlowKey; window: ReplayWindow }>();
  readonly dropped: Record<FlowDropCode, number> = { FLEX_AUTH: 0, FLEX_REPLAY: 0, FLEX_EPOCH: 0, FLEX_LENGTH: 0, FLEX_VERSION: 0 };
  /** Packets dropped because they had come the other way already (multicast and FC-msg copy). */
  duplicates = 0;
  opened = 0;
  /** The epoch of the last packet that opened: the one the flow is sealed with now. */
  private liveEpoch: number | undefined;

  constructor(private readonly maxEpochs = 3, private readonly windowSize = 4096) {}

  /** Install an epoch's key (from a KEY frame). The oldest epochs beyond `maxEpochs` are retired. */
  install(key: FlowKey): void {
    if (this.epochs.has(key.epoch)) return;
    this.epochs.set(key.epoch, { key, window: new ReplayWindow(this.windowSize) });
    // Evict oldest first, but never the epoch the flow is using now: several leaves during one
    // rotation hand out several next keys, and all of them may outnumber maxEpochs.
    const spare = [...this.epochs.keys()].filter((e) => e !== this.liveEpoch && e !== key.epoch).sort((a, b) => a - b);
    for (let i = 0; this.epochs.size > this.maxEpochs && i < spare.length; i++) this.epochs.delete(spare[i]!);
  }

  /** Forget an epoch (after a rotation's grace period). */
  retire(epoch: number): void {
    this.epochs.delete(epoch);
  }

  get heldEpochs(): number[] {
    return [...this.epochs.keys()].sort((a, b) => a - b);
  }

  /** Open a flow packet that came by multicast or (`copy`) as an FC-msg copy. */
  open(packet: Uint8Array, copy = false): Uint8Array | undefined {
    try {
      const { epoch, seq } = peekFlowHeader(packet);
      const e = this.epochs.get(epoch);
      if (e === undefined) throw new RemoteProtocolError('FLEX_EPOCH', `epoch ${epoch} not held`);
      const seen = e.window.check(seq);
      if (seen === 'replay' && e.window.cameAsCopy(seq) !== copy) {
        this.duplicates++;
        return undefined;
      }
      if (seen !== 'fresh') throw new RemoteProtocolError('FLEX_REPLAY', `epoch ${epoch} seq ${seq}`);
      const plain = openFlowPacket(e.key, packet);
      e.window.commit(seq, copy);
      this.liveEpoch = epoch;
      this.opened++;
      return plain;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== undefined && code in this.dropped) {
        this.dropped[code as FlowDropCode]++;
        return undefined;
      }
      throw err;
    }
  }
}

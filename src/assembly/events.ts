// What the receiver core hands its shell (STYLE §3: outputs are tagged data, not actions).
// The shell drains `Receiver.poll()` after every call into the core and acts on each event in
// order: append a symbol to the object's spool, read spooled symbols back for a decode, write a
// decoded block into the object's file, verify and rename a decoded object.
//
// Views: `symbol` and `bytes` may point into the datagram or a decoder's buffer. They are valid
// until the next call into the core, so the shell writes them out before it calls again.

import type { FecOti } from '../../codecs/types.js';
import type { ErrorCode } from '../errors.js';
import type { FcastObjectInfo } from './object-info.js';

export type AssemblyEvent =
  /**
   * The session the receiver follows, chosen from the first valid packet when none was given. That
   * packet and any after it wait until the shell calls Receiver.releaseHeld (after loading resume
   * state) or hands in the next datagram.
   */
  | { readonly kind: 'session'; readonly tsi: number; readonly source: string }
  /** A new object (first packet with its EXT_FTI); `k` = source symbols over all its blocks. */
  | { readonly kind: 'object-open'; readonly toi: number; readonly oti: FecOti; readonly blocks: number; readonly k: number }
  /**
   * A new encoding symbol: append it to the object's spool as record number `record` (records
   * are numbered 0, 1, 2 … per object, in the order of these events). `symbol` may be shorter
   * than E only for the object's last source symbol.
   */
  | { readonly kind: 'spool'; readonly toi: number; readonly record: number; readonly sbn: number; readonly esi: number; readonly symbol: Uint8Array }
  /**
   * New encoding symbols of one object from Receiver.handleBatch, in arrival order: append them to
   * its spool as records `record` … `record + count − 1`, like `spool` events one by one. Symbol i
   * is ESI esis[i] of block sbns[i], bytes data[offsets[i], offsets[i] + lengths[i]) (shorter than E
   * only for the object's last source symbol); the views last until the next handleBatch.
   */
  | {
    readonly kind: 'spool-run'; readonly toi: number; readonly record: number; readonly count: number; readonly data: Uint8Array;
    readonly sbns: Uint32Array; readonly esis: Uint32Array; readonly offsets: Uint32Array; readonly lengths: Uint32Array;
  }
  /** Block `sbn` may now decode: read these spool records and call `Receiver.decodeBlock`. */
  | { readonly kind: 'decode-request'; readonly toi: number; readonly sbn: number; readonly records: Uint32Array }
  /** The FCAST header is known: `headerBytes` = compound-object bytes before the data (header and padding). */
  | { readonly kind: 'object-header'; readonly toi: number; readonly info: FcastObjectInfo; readonly headerBytes: Uint8Array }
  /**
   * Block `sbn` is decoded: write `bytes` at `fileOffset` of the object's data (the FCAST header
   * already cut off), then record the block as done. `bytes` may be empty (a header-only block).
   */
  | { readonly kind: 'block-data'; readonly toi: number; readonly sbn: number; readonly fileOffset: number; readonly bytes: Uint8Array }
  /** Every block decoded and written: verify (checksum, digest), restore metadata, rename; then call objectVerified or objectFailed. */
  | { readonly kind: 'object-decoded'; readonly toi: number; readonly info: FcastObjectInfo }
  /** A carousel instance descriptor, checked and parsed (RFC 6968 §2.2). */
  | { readonly kind: 'cid'; readonly toi: number; readonly ciid: number | undefined; readonly complete: boolean; readonly tois: readonly number[] }
  /** The object will not be delivered (bad header, checksum, digest, path …); free its state. */
  | { readonly kind: 'object-rejected'; readonly toi: number; readonly code: ErrorCode; readonly detail: string }
  /** B flag: the sender stops sending this object. */
  | { readonly kind: 'object-closed'; readonly toi: number }
  /** A flag: the sender ends the session. */
  | { readonly kind: 'session-closed' }
  /** Every object of a complete carousel instance is verified: the receiver may leave (RFC 6968 §3.8 step 5). */
  | { readonly kind: 'instance-complete'; readonly ciid: number | undefined; readonly tois: readonly number[] };

export type AssemblyEventKind = AssemblyEvent['kind'];

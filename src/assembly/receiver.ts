// Receiver core: ALC packets -> block decoders -> FCAST objects (RFC 5775 §4.4, RFC 6968 §3.8).
// Sans-IO (STYLE §1-3, §6): `handleDatagram(now, bytes, source)` in, `poll()` events out; the
// shell owns every file. Bad packets are counted per error code and dropped, never thrown.
//
// Per packet, in the order RFC 5775 §4.4 gives (SPEC-NOTES 2.5):
//   1. parse and check the header (src/wire) -> drop on any error, counted by code;
//   2. (source, TSI) must be the followed session (the first one heard when none was given);
//   3. the CCI is carried for the rate layer (WEBRC is not run by this core);
//   4. the TOI must be present and its OTI known (EXT_FTI in every data packet, §7 rows 7, 11, 15);
//   5. SBN, ESI and symbol length checked against the partition (§7 rows 16, 18), then the
//      symbol is spooled and, once its block may decode, decoded.
//
// Batches (handleBatch): a recvmmsg batch comes in one call. Each datagram takes the same steps,
// but the new symbols of an object leave as one `spool-run` event per run and each block's
// symbols of the batch enter its decoder in one pushBatch call at the end: per datagram, the
// receive loop then makes no event object, no typed-array view and no native call (a 64 MB
// receive on loopback: 0.51 -> 0.44 CPU-s with start-up, bench/receive-cpu.mjs figures in git log).
//
// The first datagram picks the session and waits, copied with the rest of its batch, until the
// shell has handled the `session` event (loaded resume state) and calls releaseHeld(), or the
// next datagram comes: it used to be dropped, one packet of every receive.
//
// Memory (why a spool): our sender interleaves the symbols of every block of every object over a
// cycle (so a burst costs each block little), so every block of a 4 GB object is in progress at
// once. Holding them in memory would hold the whole object. Instead each new symbol goes to an
// append-only spool file of its object (the shell writes it; it doubles as the resume state);
// the core keeps only a bitmap and the record numbers per block, and asks the shell to read a
// block's records back when the block has enough symbols to decode (k for No-Code, k and then a
// few more for LDPC). A block that fails its first LDPC attempt stays "hot" in memory (within
// maxBufferedBytes) and takes later symbols directly.
//
// Spool deferral (spoolDelayMs, issue 4): a symbol of a hot block is not spooled on arrival. It is
// in the block's decoder anyway (BlockDecoder.heldSymbol: every decoder keeps each received
// symbol in its slot until completion), so the block's list of deferred ESIs is all it costs. A
// block that decodes within the delay never spools them: its data goes to the part file, which
// the shell journals as written at once. One that does not is spooled from its decoder once its
// oldest deferred symbol is that old (spoolDue, called per batch and by the shell's timer), and
// everything is spooled when the shell stops (spoolAll). A 64 MB receive at 0% loss spooled
// 64 MB it deleted seconds later: write(2), page cache and unlink were a sixth of its CPU.
//
// Native fast path (fastPath, issue 4): with spoolDelayMs and the native LDPC decoder, the
// common datagram of a batch (the remembered header, CCI aside; an E-byte symbol of a block whose
// hot decoder is native; or a duplicate of such an object) is taken whole by one addon call per
// stretch of them (codecs/ldpc-staircase/native-fast.ts): bounds, `seen` bit, decoder push in
// C++. It stops at the first datagram it does not take, which the code below then handles as
// before, in arrival order; the blocks it touched are booked (counts, deferred ESIs, the batch's
// touched list) once per stretch and finish at endBatch as before. A block with a symbol in the
// batch lists leaves the fast path until endBatch, so every decoder takes its symbols in arrival
// order: the events and stats are those of the TypeScript path (test/unit/assembly/fast-path).
// Session 5's profile of a 64 MB receive had ~20% of its CPU in TurboFan recompiles of the
// per-datagram JavaScript, ~8% in running it.
//
// FCAST header offset (why the file is written once): the compound object is header | padding |
// data. Blocks are written into the object's temporary file at (block offset − dataOffset),
// so the file is the data and is renamed into place with no copy. dataOffset is known only
// once the leading blocks that hold the header have decoded; a later block that decodes first
// (a late joiner's) waits in memory within maxBufferedBytes, and beyond that budget stays in
// the spool (it is on disk already) until the header is known.
//
// Bounded memory, by design (issue 4: a receiver starved of CPU measured 404 MB RSS on a 200 MB
// object): (1) decoder arenas come from a pool (arena-pool.ts), so blocks reuse a few buffers
// instead of allocating n·E bytes each; a decoded block's arena goes back to the pool once the
// shell has had its `block-data` event (at the next poll()). (2) Hot decoders, decoded blocks
// waiting for the header and CID bodies together stay within maxBufferedBytes. (3) Cold decodes
// (blocks read back from the spool: after the header arrives, after a restore, over the budget)
// are handed out one at a time, each only once the events of the last one were drained, so a
// burst of a hundred ready blocks uses one transient arena, not a hundred.

import type { BlockDecoder, BlockPlan, FecEncodingId, FecOti, FecScheme, SourceBlock } from '../../codecs/types.js';
import { type ErrorCode, RemoteProtocolError, isFcastError } from '../errors.js';
import { PAYLOAD_ID_LENGTH, decodeAlcPacket, esiBits, isFecEncodingId, sameOti, type AlcPacket } from '../wire/index.js';
import type { AssemblyEvent } from './events.js';
import { ArenaPool, type ArenaPoolStats } from './arena-pool.js';
import { FAST_HEAD, RecvFastTable } from '../../codecs/ldpc-staircase/native-fast.js';
import { decodeCid, parseObjectHeader, type CidInfo, type FcastObjectInfo } from './object-info.js';

export interface ReceiverOptions {
  /** FEC schemes by Encoding ID (codepoint = Encoding ID, SPEC-NOTES §0 item 3). */
  readonly schemes: ReadonlyMap<FecEncodingId, FecScheme>;
  /** Session to follow. Without it the receiver follows the first session it hears. */
  readonly tsi?: number;
  /** Sender address of the session (SSM source); any sender when absent. */
  readonly source?: string;
  /** CCI length of the session in bytes (4 = WEBRC short format). */
  readonly cciLength?: number;
  /** Objects being received at once (not yet decoded); more are dropped (ASSEMBLY_LIMIT). Default 4096. */
  readonly maxOpenObjects?: number;
  /** Blocks holding symbols but not yet decoded, over all objects. Default 1 << 20. */
  readonly maxPendingBlocks?: number;
  /** Bytes of decoder state, header prefixes and CID bodies held in memory. Default 128 MiB (see DEFAULTS). */
  readonly maxBufferedBytes?: number;
  /** Largest FCAST header (and CID object) accepted. Default 1 MiB. */
  readonly maxHeaderBytes?: number;
  /**
   * Deferred spooling (see "Spool deferral" above): a symbol of a hot block is spooled only once
   * it is this old (ms), read from the block's decoder; a block that decodes sooner never spools
   * it. 0 (default): every symbol is spooled as it arrives. A shell that defers must record each
   * written block durably enough for a restart at once (src/store/spool.ts "w" lines).
   */
  readonly spoolDelayMs?: number;
  /**
   * The native fast path (see "Native fast path" above) when the addon has it; it runs only with
   * spoolDelayMs. Default true; false keeps every datagram on the TypeScript path (A/B, tests).
   */
  readonly fastPath?: boolean;
}

/** Growable list of uint32 (record numbers), so a 4 GB object's bookkeeping stays compact. */
class U32List {
  private buf = new Uint32Array(8);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  at(i: number): number {
    return this.buf[i]!;
  }
  /** src[from, from + n) appended. */
  pushFrom(src: Uint32Array, from: number, n: number): void {
    if (this.length + n > this.buf.length) {
      const next = new Uint32Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf.set(src.subarray(from, from + n), this.length);
    this.length += n;
  }
  snapshot(): Uint32Array {
    return this.buf.slice(0, this.length);
  }
}

interface BlockState {
  readonly block: SourceBlock;
  /** Bit per ESI < n: already spooled. */
  readonly seen: Uint8Array;
  count: number;
  readonly records: U32List;
  /** Ask the shell for a decode once `count` reaches this. */
  nextAttempt: number;
  /** A decode was requested and not yet answered. */
  requested: boolean;
  decoder: BlockDecoder | undefined;
  /** The hot decoder's arena (from the pool). */
  arena: Uint8Array | undefined;
  /** `count` at the last LDPC maximum-likelihood attempt on the hot decoder. */
  lastFinishAt: number;
  /** handleBatch: this block's new symbols of the batch (ESIs, payload offsets), pushed at its end. */
  batchEsis: Uint32Array;
  batchOffsets: Uint32Array;
  batchCount: number;
  /** Started by this batch: its decoder comes at the batch's end, after the other blocks' decodes gave their arenas back. */
  startPending: boolean;
  /** In the batch's touched list (its symbols of the batch are pushed or booked at endBatch). */
  inBatch: boolean;
  /** Registered with its object's native fast path (ObjectState.fast). */
  fast: boolean;
  /** ESIs received and not spooled: they are in the hot decoder (spoolDelayMs). */
  readonly deferred: U32List;
  /**
   * Bumped whenever `deferred` empties: a deferral queue entry of another round is stale. (An
   * integer, not a time: a field that turns from small integer to double changes the object's
   * map and deoptimises every function compiled against it.)
   */
  deferRound: number;
}

type ObjectPhase = 'receiving' | 'decoded' | 'verified' | 'rejected';

/** A decoded block kept in memory: a view of its decoder's arena, counted as `cost` buffered bytes. */
interface HeldBlock {
  readonly bytes: Uint8Array;
  readonly arena: Uint8Array;
  readonly cost: number;
  readonly sbn: number;
  /** Some of its symbols were never spooled (deferred, dropped at its decode): spoolDue writes its source symbols if the header is late. */
  unspooled: boolean;
}

interface ObjectState {
  readonly toi: number;
  readonly oti: FecOti;
  readonly plan: BlockPlan;
  readonly scheme: FecScheme;
  readonly k: number;
  phase: ObjectPhase;
  rejectCode: ErrorCode | undefined;
  readonly pending: Map<number, BlockState>;
  readonly done: Uint8Array;
  doneCount: number;
  records: number;
  info: FcastObjectInfo | undefined;
  /** Not known to be a CID: its decoded blocks go to the part file, or wait for the header (see defers()). */
  deferrable: boolean;
  headerBytes: Uint8Array | undefined;
  /** Decoded leading blocks kept until the header parses. */
  prefix: HeldBlock[];
  prefixLength: number;
  /** Later blocks decoded (hot) before the header was known, held until their offset is. */
  early: Map<number, HeldBlock>;
  /** CID (or not yet known): whole data kept in memory; only while `info` says CID. */
  body: Uint8Array | undefined;
  closed: boolean;
  firstAt: number;
  doneAt: number | undefined;
  packets: number;
  symbols: number;
  restored: number;
  /** The native fast path's table (created with the first block it can take). */
  fast: RecvFastTable | undefined;
  fastTried: boolean;
}

/** Per-object figures for progress lines and the --json summary. */
export interface ObjectStats {
  readonly toi: number;
  readonly phase: ObjectPhase;
  readonly path: string | undefined;
  readonly transferLength: number;
  readonly bytes: number | undefined;
  readonly blocks: number;
  readonly blocksDone: number;
  /** Source symbols over all blocks. */
  readonly k: number;
  /** Distinct symbols stored (this run plus restored). */
  readonly symbols: number;
  readonly restored: number;
  readonly packets: number;
  readonly firstAt: number;
  readonly doneAt: number | undefined;
  readonly rejectCode: ErrorCode | undefined;
  readonly closed: boolean;
}

export interface ReceiverStats {
  readonly packets: number;
  readonly bytes: number;
  /** Packets from another session (RFC 5775 §4.4 step 2: dropped silently, still counted). */
  readonly otherSession: number;
  /** Symbols already held, or for a block or object already done. */
  readonly duplicates: number;
  readonly symbols: number;
  readonly restored: number;
  /** Dropped packets by error code (SPEC-NOTES §7). */
  readonly dropped: Readonly<Partial<Record<ErrorCode, number>>>;
}

/** Memory the core holds (tests and --json figures): within maxBufferedBytes plus one transient arena. */
export interface ReceiverMemory {
  /** Hot decoders, decoded blocks waiting for the header, CID bodies. */
  readonly bufferedBytes: number;
  /** Largest bufferedBytes seen. */
  readonly peakBufferedBytes: number;
  readonly arenas: ArenaPoolStats;
  /** Blocks with a decoder in memory. */
  readonly hotBlocks: number;
}

/** What is still missing when a receive ends early. */
export interface MissingObject {
  readonly toi: number;
  readonly path: string | undefined;
  readonly phase: ObjectPhase | 'unseen';
  readonly blocksDone: number;
  readonly blocks: number;
  readonly rejectCode: ErrorCode | undefined;
}

const DEFAULTS = {
  maxOpenObjects: 4096,
  maxPendingBlocks: 1 << 20,
  // The sender's default repair window (carousel/sender.ts memoryBudget: 128 MiB of n·E per
  // block, every block of an object up to ~80 MB on the air at once): a lossy receiver keeps all
  // of them open until the repair pass, and this budget (the same n·E per hot decoder) holds
  // them hot. At 64 MiB, a 64 MB push at 10% loss read 14-17 of its 48 blocks back from the
  // spool (~14k preads, ~20 MB) and cost 0.51-0.66 CPU-s against 0.46-0.58 (RSS 143 -> 167 MB);
  // a 1 GB one at 10% loss peaked at 214 MB RSS (154 at 64 MiB), lossless 113.5 (111.4).
  maxBufferedBytes: 128 * 1024 * 1024,
  maxHeaderBytes: 1024 * 1024,
  spoolDelayMs: 0,
  fastPath: true,
};

/**
 * The header of the last data packet that reached step 5 and where it went. A datagram whose
 * bytes up to the FEC payload ID are the same, CCI aside (WEBRC changes it per packet and the
 * core does not use it), has the same LCT header, EXT_FTI and session, so steps 1-4 would repeat
 * exactly: only its payload ID is read. A sender's packets for one object differ only there, so
 * the full parse (a third of the receive loop's JavaScript time per packet) runs about once per
 * object, or per change of object when objects interleave.
 */
interface LastHeader {
  readonly header: Uint8Array;
  /** First byte after the CCI (the CCI starts at byte 4). */
  readonly cciEnd: number;
  readonly source: string;
  readonly obj: ObjectState;
  readonly esiBits: number;
}

/** Whether the datagram data[at, at + length) starts with `last`'s header (CCI aside). */
function sameHeader(data: Uint8Array, at: number, length: number, last: LastHeader): boolean {
  const h = last.header;
  const n = h.length;
  if (length < n + PAYLOAD_ID_LENGTH) return false;
  for (let i = 0; i < 4; i++) if (data[at + i] !== h[i]) return false;
  for (let i = last.cciEnd; i < n; i++) if (data[at + i] !== h[i]) return false;
  return true;
}

/** A block's batch lists before its first batch (one shared empty array, so the field's type never changes). */
const NO_ENTRIES = new Uint32Array(0);

/** Room for at least `n` entries: `a` itself, or a larger copy. */
function grown(a: Uint32Array | undefined, n: number): Uint32Array {
  if (a !== undefined && a.length >= n) return a;
  const next = new Uint32Array(Math.max(64, n, (a?.length ?? 0) * 2));
  if (a !== undefined) next.set(a);
  return next;
}

const SCRATCH_ENTRIES = 64 * 16;

/**
 * The symbols of one handleBatch call, gathered so the shell and the decoders take them in few
 * calls: the current spool run (consecutive new symbols of one object) and the blocks that got
 * symbols. Reused from batch to batch.
 */
class BatchScratch {
  data: Uint8Array = new Uint8Array(0);
  // A recvmmsg batch of 64 GRO buffers of up to 16 datagrams each: sized for it at once, so the
  // growth path below (a deoptimisation of handleBatch when first taken) is for odd batches only.
  sbns: Uint32Array = new Uint32Array(SCRATCH_ENTRIES);
  esis: Uint32Array = new Uint32Array(SCRATCH_ENTRIES);
  offsets: Uint32Array = new Uint32Array(SCRATCH_ENTRIES);
  lengths: Uint32Array = new Uint32Array(SCRATCH_ENTRIES);
  /** Entries used in the arrays above (runs of this batch follow one another). */
  used = 0;
  /** The open spool run: its object, first entry and first record. */
  runObj: ObjectState | undefined;
  runFrom = 0;
  runRecord = 0;
  readonly touchedObjs: ObjectState[] = [];
  readonly touched: BlockState[] = [];

  begin(data: Uint8Array, count: number): void {
    this.data = data;
    this.used = 0;
    this.runObj = undefined;
    if (this.sbns.length < count) {
      this.sbns = grown(undefined, count);
      this.esis = grown(undefined, count);
      this.offsets = grown(undefined, count);
      this.lengths = grown(undefined, count);
    }
  }
}

function bitGet(bits: Uint8Array, i: number): boolean {
  return (bits[i >>> 3]! & (1 << (i & 7))) !== 0;
}
function bitSet(bits: Uint8Array, i: number): void {
  bits[i >>> 3]! |= 1 << (i & 7);
}

export class Receiver {
  private readonly opts: ReceiverOptions & typeof DEFAULTS;
  private tsi: number | undefined;
  private source: string | undefined;
  private readonly objects = new Map<number, ObjectState>();
  private readonly events: AssemblyEvent[] = [];
  private eventHead = 0;
  private openObjects = 0;
  private pendingBlocks = 0;
  private buffered = 0;
  private peakBuffered = 0;
  private hotBlocks = 0;
  private readonly arenas: ArenaPool;
  /** Arenas referenced by the event at index `at`: back to the pool once the shell has handled it. */
  private readonly loans: Array<{ readonly at: number; readonly arena: Uint8Array }> = [];
  /** Blocks waiting for a cold decode (read back from the spool), handed out one at a time. */
  private readonly ready: Array<{ readonly obj: ObjectState; readonly st: BlockState }> = [];
  private readyHead = 0;
  private sessionClosed = false;
  private instance: (CidInfo & { readonly toi: number }) | undefined;
  private instanceAnnounced = false;
  /** Objects of the instance before this index are verified (verification never goes back): O(n) over a receive, not O(n²). */
  private instanceScan = 0;
  private last: LastHeader | undefined;
  private readonly batch = new BatchScratch();
  /** Blocks with deferred symbols, oldest first (an entry is stale once its block spooled or went). */
  private readonly deferQueue: Array<{ readonly obj: ObjectState; readonly st: BlockState; readonly since: number; readonly round: number }> = [];
  private deferHead = 0;
  /** Blocks decoded before their header with symbols never spooled, oldest first. */
  private readonly heldQueue: Array<{ readonly obj: ObjectState; readonly held: HeldBlock; readonly since: number }> = [];
  private heldHead = 0;
  /** Datagrams that came with or after the one that picked the session: processed once the shell had the `session` event. */
  private held: Array<{ readonly now: number; readonly bytes: Uint8Array; readonly source: string; readonly counted: boolean }> = [];
  private readonly stats = {
    packets: 0,
    bytes: 0,
    otherSession: 0,
    duplicates: 0,
    symbols: 0,
    restored: 0,
    dropped: {} as Partial<Record<ErrorCode, number>>,
  };

  constructor(opts: ReceiverOptions) {
    this.opts = { ...DEFAULTS, ...opts };
    this.arenas = new ArenaPool(this.opts.maxBufferedBytes);
    this.tsi = opts.tsi;
    this.source = opts.source;
  }

  /** The followed session, once known. */
  session(): { tsi: number; source: string | undefined } | undefined {
    return this.tsi === undefined ? undefined : { tsi: this.tsi, source: this.source };
  }

  /**
   * Next event for the shell, or undefined when there is nothing to do. The views in the event
   * last returned (`symbol`, `bytes`) are valid until this is called again.
   */
  poll(): AssemblyEvent | undefined {
    this.returnLoans();
    if (this.eventHead === this.events.length) {
      if (this.eventHead > 0) {
        this.events.length = 0;
        this.eventHead = 0;
      }
      // Only now, with every earlier event handled and its arena back, the next cold decode.
      if (!this.nextDecodeRequest()) return undefined;
    }
    return this.events[this.eventHead++];
  }

  /** The shell asks for the next event only after handling the last one: its arenas are free. */
  private returnLoans(): void {
    let i = 0;
    while (i < this.loans.length && this.loans[i]!.at < this.eventHead) this.arenas.release(this.loans[i++]!.arena);
    if (i > 0) this.loans.splice(0, i);
  }

  /** `arena` backs the event just pushed. */
  private loan(arena: Uint8Array): void {
    this.loans.push({ at: this.events.length - 1, arena });
  }

  private nextDecodeRequest(): boolean {
    while (this.readyHead < this.ready.length) {
      const { obj, st } = this.ready[this.readyHead++]!;
      if (obj.phase !== 'receiving' || !st.requested || st.decoder !== undefined || obj.pending.get(st.block.sbn) !== st) continue;
      // The records as of now: symbols that came while the block waited are read back too.
      this.events.push({ kind: 'decode-request', toi: obj.toi, sbn: st.block.sbn, records: st.records.snapshot() });
      return true;
    }
    this.ready.length = 0;
    this.readyHead = 0;
    return false;
  }

  /** Queue a cold decode of the block (see poll()). */
  private requestDecode(obj: ObjectState, st: BlockState): void {
    st.requested = true;
    this.ready.push({ obj, st });
  }

  /** What the core holds in memory now (bounded by maxBufferedBytes, see the header comment). */
  memory(): ReceiverMemory {
    return { bufferedBytes: this.buffered, peakBufferedBytes: this.peakBuffered, arenas: this.arenas.stats(), hotBlocks: this.hotBlocks };
  }

  private addBuffered(bytes: number): void {
    this.buffered += bytes;
    if (this.buffered > this.peakBuffered) this.peakBuffered = this.buffered;
  }

  /** One UDP datagram from `source` (sender IP address). Never throws on bad input. */
  handleDatagram(now: number, bytes: Uint8Array, source: string): void {
    if (this.held.length > 0) this.releaseHeld();
    if (this.tsi === undefined) {
      this.firstDatagrams(now, bytes, [0], [bytes.length], 0, 1, source);
      return;
    }
    this.datagram(now, bytes, source);
    this.spoolDue(now);
  }

  /**
   * The datagrams of one receive batch from `source`: datagram i is
   * data[offsets[i], offsets[i] + lengths[i]), i < count. The same as handleDatagram on each in
   * order, in fewer calls: the new symbols of an object go out as one `spool-run` event per run
   * of them, and each block's symbols of the batch go to its decoder in one pushBatch call at the
   * end (decodes complete there, not mid-batch). The views stay valid until the next call in.
   * Never throws on bad input.
   */
  handleBatch(now: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, source: string): void {
    if (this.held.length > 0) this.releaseHeld();
    if (this.tsi === undefined) {
      this.firstDatagrams(now, data, offsets, lengths, 0, count, source);
      return;
    }
    const b = this.batch;
    b.begin(data, count);
    for (let i = 0; i < count; i++) {
      const lastFast = this.last;
      const fast = lastFast?.obj.fast;
      if (fast !== undefined && source === lastFast!.source) {
        const stop = fast.run(data, offsets, lengths, i, count, lastFast!.header, lastFast!.cciEnd, lastFast!.esiBits);
        if (stop > i) {
          this.bookFast(now, lastFast!.obj, fast.out);
          i = stop;
          if (i === count) break;
        }
      }
      const at = offsets[i]!;
      const length = lengths[i]!;
      const last = this.last;
      if (last === undefined || source !== last.source || !sameHeader(data, at, length, last)) {
        // Anything but the next symbol of the last object takes the full path, in order.
        this.endBatch(now);
        this.datagram(now, data.subarray(at, at + length), source);
        continue;
      }
      this.stats.packets++;
      this.stats.bytes += length;
      const p = at + last.header.length;
      const word = ((data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!) >>> 0;
      last.obj.packets++;
      try {
        this.batchSymbol(now, last.obj, word >>> last.esiBits, word & ((1 << last.esiBits) - 1), p + PAYLOAD_ID_LENGTH, at + length - p - PAYLOAD_ID_LENGTH);
      } catch (e) {
        if (!isFcastError(e) || e.origin !== 'remote') throw e;
        this.drop(e.code);
      }
    }
    this.endBatch(now);
    this.spoolDue(now);
  }

  /**
   * A fast-path stretch's record (native-fast.ts): what the per-datagram code would have counted,
   * and each touched block's new symbols deferred and the block in the batch's touched list.
   */
  private bookFast(now: number, obj: ObjectState, out: Uint32Array): void {
    const packets = out[0]!;
    this.stats.packets += packets;
    this.stats.bytes += out[1]!;
    this.stats.duplicates += out[2]!;
    obj.packets += packets;
    const blocks = out[3]!;
    const b = this.batch;
    let p = FAST_HEAD;
    for (let j = 0; j < blocks; j++) {
      const st = obj.pending.get(out[p]!)!;
      const m = out[p + 1]!;
      p += 2;
      st.count += m;
      obj.symbols += m;
      this.stats.symbols += m;
      if (st.deferred.length === 0) this.deferQueue.push({ obj, st, since: now, round: st.deferRound });
      st.deferred.pushFrom(out, p, m);
      p += m;
      if (!st.inBatch) {
        st.inBatch = true;
        b.touchedObjs.push(obj);
        b.touched.push(st);
      }
    }
  }

  /**
   * Datagrams before the session is known: the first valid one picks it (a `session` event), and
   * it and those after it wait (copied) until the shell has had that event, so that resume state
   * for the session is loaded before any of their symbols counts.
   */
  private firstDatagrams(now: number, data: Uint8Array, offsets: ArrayLike<number>, lengths: ArrayLike<number>, from: number, count: number, source: string): void {
    for (let i = from; i < count; i++) {
      const bytes = data.subarray(offsets[i]!, offsets[i]! + lengths[i]!);
      if (this.tsi !== undefined) {
        this.held.push({ now, bytes: bytes.slice(), source, counted: false });
        continue;
      }
      this.datagram(now, bytes, source);
      if (this.tsi !== undefined) this.held.push({ now, bytes: bytes.slice(), source, counted: true });
    }
  }

  /**
   * The shell has handled the `session` event (loaded its resume state): process the datagrams
   * held since. Also done by the next handleDatagram / handleBatch, whichever comes first.
   */
  releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) {
      if (h.counted) {
        this.stats.packets--;
        this.stats.bytes -= h.bytes.length;
      }
      this.datagram(h.now, h.bytes, h.source);
    }
  }

  private datagram(now: number, bytes: Uint8Array, source: string): void {
    this.stats.packets++;
    this.stats.bytes += bytes.length;
    try {
      const last = this.last;
      if (last !== undefined && source === last.source && sameHeader(bytes, 0, bytes.length, last)) {
        const at = last.header.length;
        const word = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
        last.obj.packets++;
        this.symbol(now, last.obj, word >>> last.esiBits, word & ((1 << last.esiBits) - 1), bytes.subarray(at + PAYLOAD_ID_LENGTH));
        return;
      }
      const packet = decodeAlcPacket(bytes, { cciLength: this.opts.cciLength, requireToi: true });
      this.accept(now, packet, source, bytes);
    } catch (e) {
      if (!isFcastError(e) || e.origin !== 'remote') throw e;
      this.drop(e.code);
    }
  }

  private drop(code: ErrorCode): void {
    this.stats.dropped[code] = (this.stats.dropped[code] ?? 0) + 1;
  }

  private accept(now: number, p: AlcPacket, source: string, bytes: Uint8Array): void {
    // Step 2: one session (RFC 5775 §4.4). The first packet heard picks the session and waits
    // (firstDatagrams), so the shell can load any resume state for it before a symbol counts.
    if (this.tsi === undefined) {
      this.tsi = p.lct.tsi;
      this.source = source;
      this.events.push({ kind: 'session', tsi: p.lct.tsi, source });
      return;
    }
    if (p.lct.tsi !== this.tsi || (this.source !== undefined && source !== this.source)) {
      this.stats.otherSession++;
      return;
    }
    if (p.lct.closeSession && !this.sessionClosed) {
      this.sessionClosed = true;
      this.events.push({ kind: 'session-closed' });
    }
    const toi = p.lct.toi!;
    const obj = this.objects.get(toi) ?? this.open(now, toi, p.fti);
    if (p.fti !== undefined && !sameOti(p.fti, obj.oti)) throw new RemoteProtocolError('FTI_CONFLICT', `TOI ${toi}`);
    obj.packets++;
    if (p.lct.closeObject && !obj.closed) {
      obj.closed = true;
      this.events.push({ kind: 'object-closed', toi });
    }
    if (p.payloadId === undefined) return;
    this.rememberHeader(bytes, p, source, obj);
    this.symbol(now, obj, p.payloadId.sbn, p.payloadId.esi, p.payload);
  }

  private rememberHeader(bytes: Uint8Array, p: AlcPacket, source: string, obj: ObjectState): void {
    const last = this.last;
    if (last !== undefined && last.obj === obj && last.source === source && sameHeader(bytes, 0, bytes.length, last)) return;
    // The payload ID is laid out by the codepoint (decodeAlcPacket checked it is a FEC Encoding ID).
    if (!isFecEncodingId(p.lct.codepoint)) return;
    // A copy: the shell's datagram may be a Buffer view of a reused receive buffer (Buffer#slice
    // would be a view too).
    this.last = { header: new Uint8Array(bytes.subarray(0, p.lct.headerLength)), cciEnd: 4 + p.lct.cciLength, source, obj, esiBits: esiBits(p.lct.codepoint) };
  }

  private open(now: number, toi: number, fti: FecOti | undefined): ObjectState {
    if (fti === undefined) throw new RemoteProtocolError('FEC_UNSUPPORTED', `no EXT_FTI yet for TOI ${toi}`);
    const scheme = this.opts.schemes.get(fti.encodingId);
    if (scheme === undefined) throw new RemoteProtocolError('FEC_UNSUPPORTED', `FEC Encoding ID ${fti.encodingId}`);
    if (this.openObjects >= this.opts.maxOpenObjects) throw new RemoteProtocolError('ASSEMBLY_LIMIT', `${this.openObjects} open objects`);
    if (fti.encodingId === 3 && (fti.symbolsPerPacket ?? 1) !== 1) {
      throw new RemoteProtocolError('FEC_PARAMS', 'LDPC-Staircase with G > 1 symbols per packet');
    }
    // validate() throws FEC_PARAMS (remote here: the OTI came from the wire).
    try {
      scheme.validate(fti);
    } catch (e) {
      if (isFcastError(e)) throw new RemoteProtocolError(e.code, e.message);
      throw e;
    }
    const plan = scheme.partition(fti);
    const obj = this.createObject(now, toi, fti, scheme, plan);
    this.events.push({ kind: 'object-open', toi, oti: fti, blocks: plan.blocks.length, k: obj.k });
    return obj;
  }

  private createObject(now: number, toi: number, oti: FecOti, scheme: FecScheme, plan: BlockPlan): ObjectState {
    let k = 0;
    for (const b of plan.blocks) k += b.k;
    const obj: ObjectState = {
      toi,
      oti,
      plan,
      scheme,
      k,
      phase: 'receiving',
      rejectCode: undefined,
      pending: new Map(),
      done: new Uint8Array((plan.blocks.length + 7) >>> 3),
      doneCount: 0,
      records: 0,
      info: undefined,
      deferrable: true,
      headerBytes: undefined,
      prefix: [],
      prefixLength: 0,
      early: new Map(),
      body: undefined,
      closed: false,
      firstAt: now,
      doneAt: undefined,
      packets: 0,
      symbols: 0,
      restored: 0,
      fast: undefined,
      fastTried: false,
    };
    this.objects.set(toi, obj);
    this.openObjects++;
    return obj;
  }

  /** Step 5: check the payload against the partition, spool it, maybe decode. */
  private symbol(now: number, obj: ObjectState, sbn: number, esi: number, payload: Uint8Array): void {
    const st = this.newSymbol(obj, sbn, esi, payload.length, false);
    if (st === undefined) return;
    if (st.decoder !== undefined && this.defers(obj, payload.length)) this.defer(now, obj, st, esi);
    else this.events.push({ kind: 'spool', toi: obj.toi, record: this.nextRecord(obj, st), sbn, esi, symbol: payload });
    if (st.decoder !== undefined) {
      st.decoder.push(esi, this.padded(obj, payload));
      this.tryHot(now, obj, st);
    } else {
      this.maybeRequest(obj, st);
    }
  }

  /** Step 5 within handleBatch: the symbol joins the spool run and its block's list (endBatch takes both). */
  private batchSymbol(now: number, obj: ObjectState, sbn: number, esi: number, offset: number, length: number): void {
    const st = this.newSymbol(obj, sbn, esi, length, true);
    if (st === undefined) return;
    const hot = st.decoder !== undefined || st.startPending;
    if (hot && this.defers(obj, length)) {
      this.defer(now, obj, st, esi);
    } else {
      this.runSymbol(obj, st, sbn, esi, offset, length);
    }
    if (!hot) {
      this.maybeRequest(obj, st);
      return;
    }
    const b = this.batch;
    if (!st.inBatch) {
      st.inBatch = true;
      b.touchedObjs.push(obj);
      b.touched.push(st);
    }
    // Its decoder takes this one at endBatch: no fast-path push before it (arrival order).
    if (st.fast) this.fastCold(obj, st);
    const j = st.batchCount++;
    st.batchEsis = grown(st.batchEsis, st.batchCount);
    st.batchOffsets = grown(st.batchOffsets, st.batchCount);
    st.batchEsis[j] = esi;
    st.batchOffsets[j] = offset;
  }

  /** The symbol joins the open spool run of the batch (a new run if it is of another object). */
  private runSymbol(obj: ObjectState, st: BlockState, sbn: number, esi: number, offset: number, length: number): void {
    const b = this.batch;
    if (b.runObj !== obj) {
      this.endRun();
      b.runObj = obj;
      b.runFrom = b.used;
      b.runRecord = obj.records;
    }
    this.nextRecord(obj, st);
    const i = b.used++;
    b.sbns[i] = sbn;
    b.esis[i] = esi;
    b.offsets[i] = offset;
    b.lengths[i] = length;
  }

  /** The open spool run, as one event. */
  private endRun(): void {
    const b = this.batch;
    const obj = b.runObj;
    if (obj === undefined) return;
    b.runObj = undefined;
    const from = b.runFrom;
    const to = b.used;
    this.events.push({
      kind: 'spool-run', toi: obj.toi, record: b.runRecord, count: to - from, data: b.data,
      sbns: b.sbns.subarray(from, to), esis: b.esis.subarray(from, to), offsets: b.offsets.subarray(from, to), lengths: b.lengths.subarray(from, to),
    });
  }

  /**
   * The batch so far: its spool run out, then each touched block's symbols into its decoder at
   * once; the blocks this batch started last. A sender's window of blocks ends with all of its
   * blocks completing within a few packets and the next window's starting: a batch across that
   * edge would otherwise hold both windows' arenas at once (28 instead of 16 for 64 MB).
   */
  private endBatch(now: number): void {
    this.endRun();
    const b = this.batch;
    for (let i = 0; i < b.touched.length; i++) if (!b.touched[i]!.startPending) this.pushTouched(now, b.touchedObjs[i]!, b.touched[i]!);
    for (let i = 0; i < b.touched.length; i++) {
      const obj = b.touchedObjs[i]!;
      const st = b.touched[i]!;
      if (!st.startPending) continue;
      st.startPending = false;
      if (obj.pending.get(st.block.sbn) === st && obj.phase === 'receiving') this.startHot(obj, st);
      if (st.decoder === undefined) {
        // No room in the memory budget: its symbols wait in the spool.
        this.spoolBatchDeferred(obj, st);
        st.batchCount = 0;
        if (obj.pending.get(st.block.sbn) === st) this.maybeRequest(obj, st);
        continue;
      }
      this.pushTouched(now, obj, st);
    }
    this.endRun();
    for (let i = 0; i < b.touched.length; i++) {
      const st = b.touched[i]!;
      st.inBatch = false;
      this.fastSync(b.touchedObjs[i]!, st);
    }
    b.touched.length = 0;
    b.touchedObjs.length = 0;
  }

  /**
   * A block this batch started got no decoder after all: the symbols it deferred (all of this
   * batch, E bytes each) go to the spool from the batch's data, as one run.
   */
  private spoolBatchDeferred(obj: ObjectState, st: BlockState): void {
    if (st.deferred.length === 0 || obj.pending.get(st.block.sbn) !== st) return;
    const e = obj.oti.symbolSize;
    const sbn = st.block.sbn;
    // A short last symbol was not deferred: it is in the spool run already.
    const shortEsi = this.lastSymbolLength(obj) !== e && sbn === obj.plan.blocks.length - 1 ? st.block.k - 1 : -1;
    for (let j = 0; j < st.batchCount; j++) {
      const esi = st.batchEsis[j]!;
      if (esi !== shortEsi) this.runSymbol(obj, st, sbn, esi, st.batchOffsets[j]!, e);
    }
    st.deferred.length = 0;
    st.deferRound++;
  }

  private pushTouched(now: number, obj: ObjectState, st: BlockState): void {
    const count = st.batchCount;
    st.batchCount = 0;
    // Released meanwhile (its object rejected): nothing to push into.
    if (st.decoder === undefined || obj.pending.get(st.block.sbn) !== st) return;
    try {
      // None when the fast path pushed them all already.
      if (count > 0) st.decoder.pushBatch(st.batchEsis, this.batch.data, st.batchOffsets, count);
    } catch (e) {
      if (!isFcastError(e) || e.origin !== 'remote') throw e;
      this.drop(e.code);
    }
    this.tryHot(now, obj, st);
  }

  /**
   * Check a symbol against the partition (step 5) and count it as new: its block's state (now
   * holding it as record obj.records − 1), or undefined for a duplicate or a block already done.
   */
  private newSymbol(obj: ObjectState, sbn: number, esi: number, length: number, deferHot: boolean): BlockState | undefined {
    const blocks = obj.plan.blocks;
    if (sbn >= blocks.length) throw new RemoteProtocolError('FEC_SBN', `SBN ${sbn} of ${blocks.length} blocks`);
    const block = blocks[sbn]!;
    if (esi >= block.n) throw new RemoteProtocolError('FEC_ESI', `ESI ${esi} of n = ${block.n}`);
    const e = obj.oti.symbolSize;
    if (length !== e && !(this.isLastSymbol(obj, sbn, esi) && length === this.lastSymbolLength(obj))) {
      throw new RemoteProtocolError('FEC_SYMBOL_SIZE', `${length} bytes, E = ${e}`);
    }
    if (obj.phase !== 'receiving' || bitGet(obj.done, sbn)) {
      this.stats.duplicates++;
      return undefined;
    }
    let st = obj.pending.get(sbn);
    if (st === undefined) {
      st = this.newBlockState(obj, block);
      // A new block starts hot: its symbols go straight into a decoder (while the memory budget
      // allows), so the common case never reads the spool back. Even before the header is known:
      // a late joiner's blocks then decode as they fill and wait in memory, not in the spool.
      if (deferHot) st.startPending = true;
      else this.startHot(obj, st);
    }
    if (bitGet(st.seen, esi)) {
      this.stats.duplicates++;
      return undefined;
    }
    bitSet(st.seen, esi);
    st.count++;
    obj.symbols++;
    this.stats.symbols++;
    return st;
  }

  /** The next spool record of the object, for a symbol of block `st`. */
  private nextRecord(obj: ObjectState, st: BlockState): number {
    const record = obj.records++;
    st.records.push(record);
    return record;
  }

  /**
   * Whether a new symbol of a hot block of `obj` waits in its decoder instead of the spool: only
   * with spoolDelayMs, only E-byte symbols (the native decoder keeps a short last symbol to
   * itself), and not for a CID (its blocks stay in memory, never in a part file). A block that
   * decodes before its object's header is known waits in memory: if the header is not known
   * within the delay either, its source symbols are spooled from the decoded bytes (spoolDue).
   */
  private defers(obj: ObjectState, length: number): boolean {
    return obj.deferrable && this.opts.spoolDelayMs > 0 && length === obj.oti.symbolSize;
  }

  private defer(now: number, obj: ObjectState, st: BlockState, esi: number): void {
    if (st.deferred.length === 0) this.deferQueue.push({ obj, st, since: now, round: st.deferRound });
    st.deferred.push(esi);
  }

  /** Deferred symbols older than spoolDelayMs go to the spool (from their decoders). */
  spoolDue(now: number): void {
    const q = this.deferQueue;
    const limit = now - this.opts.spoolDelayMs;
    while (this.deferHead < q.length && q[this.deferHead]!.since <= limit) {
      const { obj, st, round } = q[this.deferHead++]!;
      if (st.deferRound === round) this.spoolHeld(obj, st);
    }
    if (this.deferHead === q.length && q.length > 0) {
      q.length = 0;
      this.deferHead = 0;
    }
    const h = this.heldQueue;
    while (this.heldHead < h.length && h[this.heldHead]!.since <= limit) {
      const { obj, held } = h[this.heldHead++]!;
      this.spoolDecoded(obj, held);
    }
    if (this.heldHead === h.length && h.length > 0) {
      h.length = 0;
      this.heldHead = 0;
    }
  }

  /** Every deferred symbol to the spool now (before the shell stops: nothing waits in memory only). */
  spoolAll(): void {
    for (let i = this.deferHead; i < this.deferQueue.length; i++) {
      const { obj, st, round } = this.deferQueue[i]!;
      if (st.deferRound === round) this.spoolHeld(obj, st);
    }
    this.deferQueue.length = 0;
    this.deferHead = 0;
    for (let i = this.heldHead; i < this.heldQueue.length; i++) this.spoolDecoded(this.heldQueue[i]!.obj, this.heldQueue[i]!.held);
    this.heldQueue.length = 0;
    this.heldHead = 0;
  }

  /**
   * A block decoded before its object's header and still waiting for it in memory, some of its
   * symbols never spooled: its source symbols go to the spool from the decoded bytes (a resume
   * decodes it again from them). Once placed in the part file it needs nothing.
   */
  private spoolDecoded(obj: ObjectState, held: HeldBlock): void {
    if (!held.unspooled || obj.phase !== 'receiving' || obj.info !== undefined) return;
    if (obj.early.get(held.sbn) !== held && !obj.prefix.includes(held)) return;
    held.unspooled = false;
    const e = obj.oti.symbolSize;
    const k = obj.plan.blocks[held.sbn]!.k;
    for (let esi = 0; esi < k; esi++) {
      const symbol = held.bytes.subarray(esi * e, Math.min(held.bytes.length, (esi + 1) * e));
      this.events.push({ kind: 'spool', toi: obj.toi, record: obj.records++, sbn: held.sbn, esi, symbol });
    }
  }

  /**
   * A hot block's deferred symbols as spool events, read from its decoder (views of its arena,
   * unchanged until the block completes, which cannot happen before the shell has drained these
   * events). One that peeling knew before it came is not held there: it adds nothing a decode
   * needs, so it is not spooled.
   */
  private spoolHeld(obj: ObjectState, st: BlockState): void {
    const list = st.deferred;
    const decoder = st.decoder;
    if (decoder !== undefined && obj.pending.get(st.block.sbn) === st) {
      for (let i = 0; i < list.length; i++) {
        const esi = list.at(i);
        const symbol = decoder.heldSymbol(esi);
        if (symbol !== undefined) this.events.push({ kind: 'spool', toi: obj.toi, record: this.nextRecord(obj, st), sbn: st.block.sbn, esi, symbol });
      }
    }
    list.length = 0;
    st.deferRound++;
  }

  private isLastSymbol(obj: ObjectState, sbn: number, esi: number): boolean {
    const blocks = obj.plan.blocks;
    return sbn === blocks.length - 1 && esi === blocks[sbn]!.k - 1;
  }

  private lastSymbolLength(obj: ObjectState): number {
    const l = obj.oti.transferLength;
    const e = obj.oti.symbolSize;
    return l - Math.floor((l - 1) / e) * e;
  }

  /** Symbols go to decoders E bytes long; the short last source symbol is zero-padded (RFC 5052 §9.1). */
  private padded(obj: ObjectState, symbol: Uint8Array): Uint8Array {
    if (symbol.length === obj.oti.symbolSize) return symbol;
    const out = new Uint8Array(obj.oti.symbolSize);
    out.set(symbol);
    return out;
  }

  private newBlockState(obj: ObjectState, block: SourceBlock): BlockState {
    if (this.pendingBlocks >= this.opts.maxPendingBlocks) {
      throw new RemoteProtocolError('ASSEMBLY_LIMIT', `${this.pendingBlocks} pending blocks`);
    }
    const st: BlockState = {
      block,
      seen: new Uint8Array((block.n + 7) >>> 3),
      count: 0,
      records: new U32List(),
      nextAttempt: block.k,
      requested: false,
      decoder: undefined,
      arena: undefined,
      lastFinishAt: 0,
      batchEsis: NO_ENTRIES,
      batchOffsets: NO_ENTRIES,
      batchCount: 0,
      startPending: false,
      inBatch: false,
      fast: false,
      deferred: new U32List(),
      deferRound: 0,
    };
    obj.pending.set(block.sbn, st);
    this.pendingBlocks++;
    return st;
  }

  /** May this block decode now? Only the header's leading blocks before the header is known. */
  private mayDecode(obj: ObjectState, sbn: number): boolean {
    if (obj.info !== undefined) return true;
    for (let i = 0; i < sbn; i++) if (!bitGet(obj.done, i)) return false;
    return true;
  }

  private maybeRequest(obj: ObjectState, st: BlockState): void {
    if (st.requested || st.count < st.nextAttempt || !this.mayDecode(obj, st.block.sbn)) return;
    this.requestDecode(obj, st);
  }

  /**
   * Answer to a `decode-request`: the block's spooled symbols, read back by the shell. Decodes
   * the block if it can; otherwise keeps the decoder hot (memory permitting) for later symbols.
   */
  decodeBlock(now: number, toi: number, sbn: number, symbols: Iterable<{ readonly esi: number; readonly symbol: Uint8Array }>): void {
    const obj = this.objects.get(toi);
    const st = obj?.pending.get(sbn);
    if (obj === undefined || st === undefined || obj.phase !== 'receiving') return;
    st.requested = false;
    if (st.decoder !== undefined) return;
    const arena = this.arenas.acquire(this.decoderCost(obj, st.block));
    const decoder = obj.scheme.createDecoder(obj.plan, sbn, { arena });
    for (const { esi, symbol } of symbols) decoder.push(esi, this.padded(obj, symbol));
    if (decoder.progress().complete || (st.count >= st.block.k && decoder.finish())) {
      this.blockDecoded(now, obj, st, decoder.sourceBlock(), arena);
      return;
    }
    if (!this.makeHot(obj, st, decoder, arena)) {
      this.arenas.release(arena);
      st.nextAttempt = st.count + this.retryStep(st.block);
    }
  }

  /** A new block's decoder, from its first symbol, if the buffered-bytes budget allows. */
  private startHot(obj: ObjectState, st: BlockState): void {
    const cost = this.decoderCost(obj, st.block);
    if (this.buffered + cost > this.opts.maxBufferedBytes) return;
    const arena = this.arenas.acquire(cost);
    this.makeHot(obj, st, obj.scheme.createDecoder(obj.plan, st.block.sbn, { arena }), arena);
  }

  /** Keep `decoder` (and its arena) in memory for this block if the buffered-bytes budget allows. */
  private makeHot(obj: ObjectState, st: BlockState, decoder: BlockDecoder, arena: Uint8Array): boolean {
    const cost = this.decoderCost(obj, st.block);
    if (this.buffered + cost > this.opts.maxBufferedBytes) return false;
    st.decoder = decoder;
    st.arena = arena;
    st.lastFinishAt = st.count;
    this.hotBlocks++;
    this.addBuffered(cost);
    this.fastSync(obj, st);
    return true;
  }

  /**
   * Register or unregister the block with its object's native fast path: on while it is pending
   * with a hot decoder, its object receiving, its new E-byte symbols deferred (defers()) and
   * nothing of it waiting in the batch lists.
   */
  private fastSync(obj: ObjectState, st: BlockState): void {
    const want = this.opts.fastPath && st.decoder !== undefined && !st.startPending && st.batchCount === 0 && obj.phase === 'receiving' &&
      obj.pending.get(st.block.sbn) === st && this.defers(obj, obj.oti.symbolSize);
    if (want === st.fast) return;
    if (!want) {
      this.fastCold(obj, st);
      return;
    }
    if (obj.fast === undefined && !obj.fastTried) {
      obj.fastTried = true;
      const ns = new Uint32Array(obj.plan.blocks.length);
      for (let i = 0; i < ns.length; i++) ns[i] = obj.plan.blocks[i]!.n;
      obj.fast = RecvFastTable.create(ns, obj.oti.symbolSize, obj.done);
    }
    st.fast = obj.fast !== undefined && obj.fast.hot(st.block.sbn, st.decoder!, st.seen);
  }

  private fastCold(obj: ObjectState, st: BlockState): void {
    if (!st.fast) return;
    st.fast = false;
    obj.fast!.cold(st.block.sbn);
  }

  /** More symbols before the next LDPC attempt: ~2% of k, at least one. */
  private retryStep(block: SourceBlock): number {
    return Math.max(1, Math.ceil(block.k / 50));
  }

  /** Rough bytes a decoder of this block holds: its encoding symbols. */
  private decoderCost(obj: ObjectState, block: SourceBlock): number {
    return block.n * obj.oti.symbolSize;
  }

  private tryHot(now: number, obj: ObjectState, st: BlockState): void {
    const decoder = st.decoder!;
    let complete = decoder.progress().complete;
    if (!complete && st.count >= st.block.k && st.count - st.lastFinishAt >= this.retryStep(st.block)) {
      st.lastFinishAt = st.count;
      complete = decoder.finish();
    }
    if (complete) {
      const arena = st.arena!;
      st.arena = undefined;
      this.blockDecoded(now, obj, st, decoder.sourceBlock(), arena);
    }
  }

  /** Forget a pending block; its hot decoder's arena (if still its own) goes back to the pool. */
  private releaseBlock(obj: ObjectState, st: BlockState): void {
    this.fastCold(obj, st);
    if (st.decoder !== undefined) {
      this.buffered -= this.decoderCost(obj, st.block);
      this.hotBlocks--;
    }
    if (st.arena !== undefined) this.arenas.release(st.arena);
    st.decoder = undefined;
    st.arena = undefined;
    // Decoded (its block goes to the part file) or rejected: its deferred symbols are not needed.
    st.deferred.length = 0;
    st.deferRound++;
    obj.pending.delete(st.block.sbn);
    this.pendingBlocks--;
  }

  /** `bytes` is a view of `arena`, which now belongs to the decoded block. */
  private blockDecoded(now: number, obj: ObjectState, st: BlockState, bytes: Uint8Array, arena: Uint8Array): void {
    // Symbols of it that were never spooled: its decoded bytes are all there is of them now.
    const deferredAny = st.deferred.length > 0;
    this.releaseBlock(obj, st);
    bitSet(obj.done, st.block.sbn);
    obj.doneCount++;
    const held: HeldBlock = { bytes, arena, cost: this.decoderCost(obj, st.block), sbn: st.block.sbn, unspooled: deferredAny };
    if (deferredAny && obj.info === undefined) this.heldQueue.push({ obj, held, since: now });
    if (obj.info !== undefined) {
      this.placeBlock(obj, st.block, bytes);
      this.loan(arena);
    } else if (st.block.sbn === obj.prefix.length) {
      this.addPrefix(now, obj, held);
    } else {
      // Kept in its arena (no copy); the budget had room for it as a hot decoder of equal cost.
      obj.early.set(st.block.sbn, held);
      this.addBuffered(held.cost);
    }
    this.maybeObjectDone(now, obj);
  }

  /** A leading block before the header is known: keep it and try the header again. */
  private addPrefix(now: number, obj: ObjectState, block: HeldBlock): void {
    obj.prefix.push(block);
    obj.prefixLength += block.bytes.length;
    this.addBuffered(block.cost);
    let all: Uint8Array;
    let info: FcastObjectInfo | undefined;
    for (;;) {
      all = concat(obj.prefix.map((h) => h.bytes), obj.prefixLength);
      try {
        info = parseObjectHeader(all, obj.oti.transferLength);
        break;
      } catch (e) {
        if (!isFcastError(e) || e.origin !== 'remote') throw e;
        const needMore = e.code === 'WIRE_TRUNCATED' && obj.prefixLength < obj.oti.transferLength && obj.prefixLength < this.opts.maxHeaderBytes;
        if (!needMore) {
          this.reject(obj, e.code, e.message);
          return;
        }
        // The next leading block may have decoded early: the header may continue into it.
        const next = obj.early.get(obj.prefix.length);
        if (next === undefined) {
          this.requestReady(obj);
          return;
        }
        obj.early.delete(obj.prefix.length);
        obj.prefix.push(next);
        obj.prefixLength += next.bytes.length;
      }
    }
    const prefix = obj.prefix;
    for (const h of prefix) this.buffered -= h.cost;
    obj.prefix = [];
    obj.prefixLength = 0;
    obj.info = info;
    obj.deferrable = !info.isCid;
    obj.headerBytes = all.slice(0, info.dataOffset);
    // A CID's symbols are not deferred: its blocks leave the fast path.
    if (!obj.deferrable) for (const st of obj.pending.values()) this.fastCold(obj, st);
    if (info.isCid) {
      if (obj.oti.transferLength > this.opts.maxHeaderBytes) {
        this.reject(obj, 'ASSEMBLY_LIMIT', `CID of ${obj.oti.transferLength} bytes`);
        return;
      }
      obj.body = new Uint8Array(obj.oti.transferLength);
      this.addBuffered(obj.body.length);
    } else {
      this.events.push({ kind: 'object-header', toi: obj.toi, info, headerBytes: obj.headerBytes });
    }
    // The leading blocks go out now that their data offset is known.
    let offset = 0;
    const blocks = obj.plan.blocks;
    for (let sbn = 0; offset < all.length; sbn++) {
      const len = blocks[sbn]!.length;
      this.placeBlock(obj, blocks[sbn]!, all.subarray(offset, offset + len));
      offset += len;
    }
    for (const h of prefix) this.loan(h.arena);
    for (const [sbn, early] of obj.early) {
      this.placeBlock(obj, blocks[sbn]!, early.bytes);
      this.loan(early.arena);
      this.buffered -= early.cost;
    }
    obj.early.clear();
    void now;
    this.requestReady(obj);
  }

  /**
   * After the header, a leading block, or a restore: ask for every block that was waiting. A
   * block at its decode threshold is asked for anyway; one below it is asked for (to become hot
   * and take its later symbols directly) while the memory budget has room, so that decoding
   * work stays spread over packets instead of arriving for many blocks at once.
   */
  private requestReady(obj: ObjectState): void {
    let room = this.opts.maxBufferedBytes - this.buffered;
    for (const st of obj.pending.values()) {
      if (st.decoder !== undefined || st.requested || !this.mayDecode(obj, st.block.sbn)) continue;
      if (st.count >= st.nextAttempt) {
        this.maybeRequest(obj, st);
        continue;
      }
      const cost = this.decoderCost(obj, st.block);
      if (st.count === 0 || cost > room) continue;
      room -= cost;
      this.requestDecode(obj, st);
    }
  }

  /** Route a decoded block: the data part to the file (or the CID body), the header part nowhere. */
  private placeBlock(obj: ObjectState, block: SourceBlock, bytes: Uint8Array): void {
    const info = obj.info!;
    if (obj.body !== undefined) {
      obj.body.set(bytes, block.offset);
      return;
    }
    const start = Math.max(block.offset, info.dataOffset);
    const data = bytes.subarray(start - block.offset);
    this.events.push({ kind: 'block-data', toi: obj.toi, sbn: block.sbn, fileOffset: start - info.dataOffset, bytes: data });
  }

  private maybeObjectDone(now: number, obj: ObjectState): void {
    if (obj.phase !== 'receiving' || obj.doneCount < obj.plan.blocks.length || obj.info === undefined) return;
    obj.phase = 'decoded';
    obj.doneAt = now;
    this.openObjects--;
    obj.fast?.receiving(false);
    if (obj.body === undefined) {
      this.events.push({ kind: 'object-decoded', toi: obj.toi, info: obj.info });
      return;
    }
    const body = obj.body;
    this.buffered -= body.length;
    obj.body = undefined;
    try {
      const cid = decodeCid(body);
      obj.phase = 'verified';
      this.events.push({ kind: 'cid', toi: obj.toi, ciid: cid.ciid, complete: cid.complete, tois: cid.tois });
      this.noteInstance(obj.toi, cid);
    } catch (e) {
      if (!isFcastError(e) || e.origin !== 'remote') throw e;
      this.reject(obj, e.code, e.message);
    }
  }

  /** Newest CID wins (RFC 6968 §2.2: CIID increases with each new instance). */
  private noteInstance(toi: number, cid: CidInfo): void {
    const cur = this.instance;
    if (cur !== undefined && cur.ciid !== undefined && cid.ciid !== undefined && cid.ciid < cur.ciid) return;
    if (cur !== undefined && cur.ciid === cid.ciid && cur.complete && !cid.complete) return;
    this.instance = { toi, ...cid };
    this.instanceAnnounced = false;
    this.instanceScan = 0;
    this.checkInstance();
  }

  private checkInstance(): void {
    const inst = this.instance;
    if (inst === undefined || !inst.complete || this.instanceAnnounced) return;
    for (; this.instanceScan < inst.tois.length; this.instanceScan++) if (!this.isVerified(inst.tois[this.instanceScan]!, inst.equivalent)) return;
    this.instanceAnnounced = true;
    this.events.push({ kind: 'instance-complete', ciid: inst.ciid, tois: inst.tois });
  }

  /** Verified itself, or the same object verified under its old TOI (a CID equivalence). */
  private isVerified(toi: number, equivalent: ReadonlyMap<number, number>): boolean {
    if (this.objects.get(toi)?.phase === 'verified') return true;
    const old = equivalent.get(toi);
    return old !== undefined && this.objects.get(old)?.phase === 'verified';
  }

  private reject(obj: ObjectState, code: ErrorCode, detail: string): void {
    if (obj.phase === 'receiving') this.openObjects--;
    for (const st of [...obj.pending.values()]) this.releaseBlock(obj, st);
    if (obj.body !== undefined) this.buffered -= obj.body.length;
    // No event refers to these yet: back to the pool at once.
    for (const h of [...obj.prefix, ...obj.early.values()]) {
      this.buffered -= h.cost;
      this.arenas.release(h.arena);
    }
    obj.early.clear();
    obj.prefix = [];
    obj.prefixLength = 0;
    obj.body = undefined;
    obj.phase = 'rejected';
    obj.rejectCode = code;
    obj.fast?.receiving(false);
    this.drop(code);
    this.events.push({ kind: 'object-rejected', toi: obj.toi, code, detail });
  }

  /** The shell verified and delivered a decoded object. */
  objectVerified(toi: number): void {
    const obj = this.objects.get(toi);
    if (obj === undefined || obj.phase !== 'decoded') return;
    obj.phase = 'verified';
    this.checkInstance();
  }

  /** The shell could not verify a decoded object (checksum, digest, path): it is rejected. */
  objectFailed(toi: number, code: ErrorCode, detail: string): void {
    const obj = this.objects.get(toi);
    if (obj === undefined || obj.phase !== 'decoded') return;
    obj.phase = 'receiving';
    this.openObjects++;
    this.reject(obj, code, detail);
  }

  // ---- resume: the shell replays what an earlier run persisted -------------------------------

  /**
   * Recreate an object from resume state: its OTI, the blocks already written, and the FCAST
   * header bytes when block 0 was done. Call before any datagram of the session arrives; then
   * `restoreSymbol` for each spool record and `restoreEnd`.
   */
  restoreObject(now: number, toi: number, oti: FecOti, doneBlocks: Iterable<number>, headerBytes: Uint8Array | undefined, verified: boolean): void {
    const scheme = this.opts.schemes.get(oti.encodingId);
    if (scheme === undefined || this.objects.has(toi)) return;
    scheme.validate(oti);
    const obj = this.createObject(now, toi, oti, scheme, scheme.partition(oti));
    if (verified) {
      obj.phase = 'verified';
      obj.doneAt = now;
      this.openObjects--;
      return;
    }
    for (const sbn of doneBlocks) {
      if (sbn < obj.plan.blocks.length && !bitGet(obj.done, sbn)) {
        bitSet(obj.done, sbn);
        obj.doneCount++;
      }
    }
    if (headerBytes !== undefined) {
      obj.info = parseObjectHeader(headerBytes, oti.transferLength);
      obj.deferrable = !obj.info.isCid;
      obj.headerBytes = headerBytes.slice(0, obj.info.dataOffset);
    }
  }

  /** One spool record of a restored object. Records of blocks already done are skipped. */
  restoreSymbol(toi: number, record: number, sbn: number, esi: number): void {
    const obj = this.objects.get(toi);
    if (obj === undefined || obj.phase !== 'receiving') return;
    obj.records = Math.max(obj.records, record + 1);
    const block = obj.plan.blocks[sbn];
    if (block === undefined || esi >= block.n || bitGet(obj.done, sbn)) return;
    const st = obj.pending.get(sbn) ?? this.newBlockState(obj, block);
    if (bitGet(st.seen, esi)) return;
    bitSet(st.seen, esi);
    st.count++;
    st.records.push(record);
    obj.symbols++;
    obj.restored++;
    this.stats.restored++;
  }

  /** Spool records end at `records` (so new ones are numbered after them); request ready decodes. */
  restoreEnd(now: number, toi: number, records: number): void {
    const obj = this.objects.get(toi);
    if (obj === undefined) return;
    obj.records = Math.max(obj.records, records);
    this.requestReady(obj);
    this.maybeObjectDone(now, obj);
  }

  // ---- figures ---------------------------------------------------------------------------

  receiverStats(): ReceiverStats {
    return { ...this.stats, dropped: { ...this.stats.dropped } };
  }

  objectStats(toi: number): ObjectStats | undefined {
    const o = this.objects.get(toi);
    if (o === undefined) return undefined;
    return {
      toi,
      phase: o.phase,
      path: o.info?.path,
      transferLength: o.oti.transferLength,
      bytes: o.info?.dataLength,
      blocks: o.plan.blocks.length,
      blocksDone: o.doneCount,
      k: o.k,
      symbols: o.symbols,
      restored: o.restored,
      packets: o.packets,
      firstAt: o.firstAt,
      doneAt: o.doneAt,
      rejectCode: o.rejectCode,
      closed: o.closed,
    };
  }

  allObjectStats(): ObjectStats[] {
    return [...this.objects.keys()].map((toi) => this.objectStats(toi)!);
  }

  /** Known carousel instance (latest CID), if any. */
  carouselInstance(): { ciid: number | undefined; complete: boolean; tois: readonly number[] } | undefined {
    return this.instance;
  }

  isSessionClosed(): boolean {
    return this.sessionClosed;
  }

  /**
   * Symbols still needed per incomplete block, at most `max` entries, objects in TOI order and
   * blocks in SBN order (the header blocks first): what a flexicast REPORT asks the sender for
   * (issue 6). An object of the CID not heard yet is listed as (toi, 0) needing 1, so one symbol
   * with its EXT_FTI arrives and opens it. A block that waits for the header blocks, or whose
   * decode was requested, needs nothing more now.
   */
  blockNeeds(max: number): Array<{ toi: number; sbn: number; needed: number }> {
    const out: Array<{ toi: number; sbn: number; needed: number }> = [];
    const tois = new Set(this.instance?.tois ?? []);
    for (const o of this.objects.values()) if (o.phase === 'receiving') tois.add(o.toi);
    for (const toi of [...tois].sort((a, b) => a - b)) {
      if (out.length >= max) break;
      const obj = this.objects.get(toi);
      if (obj === undefined) {
        if (!this.isVerified(toi, this.instance?.equivalent ?? NO_EQUIVALENTS)) out.push({ toi, sbn: 0, needed: 1 });
        continue;
      }
      if (obj.phase !== 'receiving') continue;
      for (const block of obj.plan.blocks) {
        if (out.length >= max) break;
        if (bitGet(obj.done, block.sbn)) continue;
        const st = obj.pending.get(block.sbn);
        const needed = st === undefined ? block.k
          : st.count < block.k ? block.k - st.count
          : st.requested || !this.mayDecode(obj, block.sbn) ? 0
          : this.retryStep(block);
        if (needed > 0) out.push({ toi, sbn: block.sbn, needed });
      }
    }
    return out;
  }

  /**
   * What is not yet verified: the objects of the latest CID, or, without a CID, every object
   * heard that is not verified (CIDs themselves excluded).
   */
  missing(): MissingObject[] {
    const tois = this.instance?.tois ?? [...this.objects.values()].filter((o) => o.info?.isCid !== true).map((o) => o.toi);
    const out: MissingObject[] = [];
    for (const toi of tois) {
      const o = this.objects.get(toi);
      if (this.isVerified(toi, this.instance?.equivalent ?? NO_EQUIVALENTS)) continue;
      out.push({
        toi,
        path: o?.info?.path,
        phase: o?.phase ?? 'unseen',
        blocksDone: o?.doneCount ?? 0,
        blocks: o?.plan.blocks.length ?? 0,
        rejectCode: o?.rejectCode,
      });
    }
    return out;
  }
}

const NO_EQUIVALENTS: ReadonlyMap<number, number> = new Map();

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// The carousel sender machine (RFC 6968 §3.4, §3.7 sender steps; RFC 5775 §4.3; RFC 5651 §5.1
// close flags, §5.2.2 EXT_TIME). Sans-IO, pull model (STYLE §2): the shell calls `poll(now)` in a
// loop and acts on what it gets back:
//   transmit -> send `bytes` on `channel` (pacing is the shell's job, src/net/pacer.ts);
//   read     -> read `target.length` bytes of file `key` at `fileOffset` into `target`, then
//               call `readDone(id)` (the only way file bytes enter the core);
//   wait     -> nothing to send until a read completes or `until` (a `now` value) passes;
//   done     -> the session is closed.
//
// Transmission order [ours] (RFC 3453 §2.3, RFC 5170 §5.1):
// - Blocks, not objects, are the unit. In each cycle the blocks of all objects are taken in
//   object order (then SBN order) into a window of W active blocks, and the window is served
//   round robin, one packet per block per turn. A loss burst of b packets therefore costs each
//   of min(b, W) blocks about b/W symbols instead of wiping out b symbols of one block, and
//   small files travel side by side with the blocks of a large one.
// - Within a block, the n encoding symbols (k source + n−k repair) go in a fresh random order
//   every cycle (seeded by session seed, TOI, SBN, cycle). Source symbols are not always first:
//   with a fixed order a receiver that lost the same positions in two cycles would lose the same
//   symbols twice, and a receiver joining mid-block would always miss the same ones. Any ~k of
//   the n symbols decode an LDPC-Staircase block, so every received packet is worth as much as
//   any other.
// - One exception, the first cycle of a push session (`systematicFirstPass`, default on in push
//   mode): it runs in two passes over all blocks, first every source symbol (shuffled within
//   the block), then every repair symbol (shuffled). Every receiver is there from the start in
//   push mode, so a receiver without loss is done after k symbols per block, with no decoding
//   work and no time spent on repair it does not need; a lossy receiver takes what it misses from
//   the repair pass. Later cycles, and on-demand mode (late joiners), are fully shuffled.
//   The repair pass serves every block at the same pace: a lossy receiver completes when the
//   block that lacks most has had its share, so no block may wait for others to finish first.
//   By default it puts every block of the cycle on the air at once (a repair window W_r of as
//   many blocks as the memory budget holds: 60 blocks of k = 1000, E = 1400 in 128 MiB, i.e.
//   objects up to ~80 MB) and sends each block's repair symbols (shuffled) in one round, the
//   blocks taken in turn, one packet each per turn, so every block's repair is spread evenly from
//   the pass's first packet to its last: each block is read and encoded once in the pass, and the
//   pass starts only when every block's read is done (holdForReads). Starting at half the window,
//   as a source pass does, put the other blocks on the air as the shell's reads completed, and
//   those complete only when its CPU-bound send pump yields: in the netns harness (64 MB, 9
//   processes on 2 cores) blocks 36-47 of 48 got their first repair symbol at 0.76-0.87 of the
//   cycle, the first 30 were done at 0.90-0.91, and the 10%-loss receivers' last blocks completed
//   with packets sent at 0.87-0.94 of the cycle instead of ~0.78.
//   Not chosen: keeping the source pass's blocks (buffer and encoder) for the repair pass, which
//   reads the file once. On a CPU-bound sender (loopback, --rate 10G, 64 MiB, medians of 7) the
//   source pass took 112 ms instead of 89 (48 blocks held: fresh buffers where the pass recycled
//   20), 116 ms when each kept block was encoded at once and its source buffer recycled; that is
//   the path of every receiver without loss, while a lossy receiver needs the same work done
//   before it completes either way. When the blocks do not all fit, the pass goes
//   over them window by window in `repairRounds` rounds (default 3), each round a fresh share of
//   every block's repair symbols (one shuffled order per block, cut in R parts), re-reading and
//   re-encoding each block once per round. Virtual time, 48 blocks of k = 1000, R = 2/3, a
//   receiver losing 10% at random (test/unit/carousel/repair-rounds.test.ts) completes at 0.78
//   of the cycle with one window, 0.80 with W = 16 in 3 rounds, 0.997 with W = 16 in one round
//   (the last window's blocks got their first repair symbol only near the end); at 5% loss
//   0.73-0.75 against 0.79, at 20% 0.87 against 0.91. A receiver without loss is done at 0.668,
//   after the source pass, either way.
//   Not chosen: mixing a share ρ of each block's repair symbols into the source pass (a random
//   subset, shuffled with the sources). A lossless receiver then waits for the longer pass of
//   the last window before its last blocks complete, and decodes; the 10%-loss receiver gains
//   nothing. Same virtual-time setup, one repair window, seeds 1-2: lossless 0.668 / 0.701 /
//   0.734 / 0.767 of the cycle at ρ = 0 / 0.1 / 0.2 / 0.3 of n − k; at 10% loss 0.771-0.775,
//   0.774-0.775, 0.770-0.775, 0.771-0.782.
// - On-demand cycles are spread the same way: every block of the cycle on the air at once when
//   the memory budget holds them (the window W_r above, not W), else `onDemandRounds` rounds
//   over the blocks window by window, each a share of every block's shuffled order, by default
//   enough rounds that a share is at most k/4 of the block. Receivers on a subset of the
//   packets (WEBRC layers, loss, a late join) then fill every block at the same pace. With W
//   blocks in turn, each block sent its whole n in one stretch of the cycle: a receiver getting
//   half the packets of a k = 1000, R = 1/4 session took ~2,000 symbols of a block while it was
//   on the air (the block needs ~1,000) and nothing of the blocks waiting their turn, so it
//   received 1.96 k (all packets: 3.75 k, a 50 Mbit/s netns receiver 2.6 k) before the last
//   block completed; spread, 1.12 k and 1.16 k (test/unit/rate/carousel-overhead.test.ts). The
//   price is encoding each block once per round: 12 us of sender CPU per packet at R = 1/4 with
//   16 rounds instead of 3 (load 10, 48 MB); at R = 2/3 objects up to ~80 MB fit, one round.
//   Each cycle still draws fresh orders: a receiver whose losses repeat with the cycle's period
//   must not miss the same symbols every cycle. The cost is duplicates for receivers that span
//   cycles (a late joiner at mid-cycle: ~0.25 k; it completes within one cycle of joining).
// - When a block has sent all its symbols for the cycle it leaves the window (its repair
//   symbols are dropped: the only cache is the active blocks plus P blocks read ahead, so the
//   memory use is bounded by (max(W, W_r) + P) blocks, within `memoryBudget`, whatever the
//   object sizes).
// - The window fills before the data flows: while under half of it is on the air and block
//   reads are in flight, the core waits instead of sending the blocks it has (holdForReads), so
//   the interleaving above holds from a pass's first packet, not only once the reads catch up.
// - The CID goes first in every cycle and again every `cidIntervalMs`, so a late joiner learns
//   the object list within that interval; every data packet carries EXT_FTI (SPEC-NOTES §0.4).
//
// TOI allocation [ours] (RFC 6968 §3.6): TOI 1 is the CID of carousel instance 0, the files take
// TOIs 2, 3, … in the order given (the shell sorts them by Content-Location). TOI 0 is never used
// and no TOI is reused within a session. 32-bit TOIs; a session holds at most 2^31 − 2 files so
// the active TOIs stay within half the TOI space.
//
// Modes: push sends every object's symbols `cycles` times, sets B (close object) in the last
// packet of each object of the last cycle, then closes. On-demand cycles until `deadline` and
// carries EXT_TIME ERT = whole seconds left on the air in every packet. Both end with
// `closeRepeats` CID bursts whose packets carry A (close session) and B.

import type { BlockEncoder, SourceBlock } from '../../codecs/types.js';
import { LocalProtocolError } from '../errors.js';
import { alcHeaderSize, buildCidList, encodeAlcPacket, encodeCidObject, esiBits, type AlcPacketInit } from '../wire/index.js';
import { permutation, seedOf } from './order.js';
import { checkFecSettings, planFile, planMemoryObject, type CarouselFile, type FecSettings, type PlannedObject, type SchemeLookup } from './plan.js';

export type CarouselMode = 'push' | 'on-demand';

export interface SenderConfig {
  readonly tsi: number;
  readonly files: readonly CarouselFile[];
  readonly fec: FecSettings;
  readonly schemes: SchemeLookup;
  readonly mode: CarouselMode;
  /** Push: how many times every symbol is sent (≥ 1). */
  readonly cycles?: number;
  /** On-demand: the `now` (ms) at which the carousel closes. */
  readonly deadline?: number;
  /** Seeds symbol order and LDPC PRNG seeds; the same seed replays the same session. */
  readonly seed?: number;
  /** Channel number written in the CCI and returned with every transmit. */
  readonly channel?: number;
  /** W: blocks on the air at once (default 16). */
  readonly maxActiveBlocks?: number;
  /** P: blocks read ahead of the window (default 4). */
  readonly prefetchBlocks?: number;
  /** Upper bound on block memory (source + cached repair) in bytes; may lower W (default 128 MiB). */
  readonly memoryBudget?: number;
  /** Push: first cycle sends all source symbols, then all repair symbols (default true). */
  readonly systematicFirstPass?: boolean;
  /**
   * W_r: blocks on the air at once in the first push cycle's repair pass (default: as many as
   * the memory budget holds, with no cap of 16: a lossy receiver completes when the block that
   * lacks most has been served, so every block should get its repair at the same pace).
   */
  readonly repairWindowBlocks?: number;
  /**
   * Rounds over all blocks that share out the first push cycle's repair symbols (≥ 1). Default:
   * 1 when every block of the cycle fits in the repair window at once, else 3.
   */
  readonly repairRounds?: number;
  /**
   * On-demand: rounds per cycle when the cycle's blocks do not all fit in the window (default:
   * enough that a round gives each block at most k/4 of its symbols, see "Transmission order").
   */
  readonly onDemandRounds?: number;
  /** A CID burst at least this often, in ms of `now` (default 1000). */
  readonly cidIntervalMs?: number;
  /** CID bursts with the A flag at the end (default 3). */
  readonly closeRepeats?: number;
  /**
   * The shell is done with a transmit's `bytes` before its next poll (it copied or sent them,
   * as the native batch socket does), so every packet may be written into one buffer that the
   * core owns (default false: a fresh view per packet, safe to hold across polls).
   */
  readonly reuseDatagramBuffer?: boolean;
}

export interface Transmit {
  readonly kind: 'transmit';
  readonly channel: number;
  /**
   * The whole ALC datagram: a view of a buffer the core never writes again (safe for an async
   * send), or with `reuseDatagramBuffer` one it overwrites at the next poll.
   */
  readonly bytes: Uint8Array;
  readonly at: number;
  readonly toi: number;
  readonly sbn: number;
  readonly esi: number;
}

export interface BlockRead {
  readonly kind: 'read';
  readonly id: number;
  readonly key: number;
  readonly fileOffset: number;
  /** Fill all of it, then call readDone(id). */
  readonly target: Uint8Array;
}

export interface Wait {
  readonly kind: 'wait';
  /** Poll again at this `now` at the latest; undefined = when a read completes. */
  readonly until: number | undefined;
}

/** Where and with which CCI the next packet goes (from a rate controller, e.g. WEBRC). */
export interface PacketSlot {
  readonly channel: number;
  /** CCI bytes for the LCT header (4 for the WEBRC short format), copied into the packet. */
  readonly cci: Uint8Array;
}

export type SenderOutput = Transmit | BlockRead | Wait | { readonly kind: 'done' };

/**
 * A run of plain data packets (CarouselSender.pollRun), described, not built: per packet the
 * header template of its object, its symbol (a view of a block buffer or of an encoder's repair
 * buffer, at its true length), its FEC payload ID and its CCI. The shell fills the datagrams
 * (packet i = headers[i] with bytes 4-7 set to the CCI and the last 4 to the payload ID, then
 * payloads[i]; RFC 5651 §5.1, RFC 5775 §2.1) straight into its send stage: in native code, one
 * call per run, no JavaScript object and no copy per packet (issue 4: the per-packet copies and
 * the JavaScript around them were the sender's largest cost after the kernel's). The views are
 * valid until the core is polled again.
 */
export class DataRun {
  count = 0;
  /** Datagram bytes of the run plus the per-packet overhead given to pollRun (what a pacer charges). */
  wireBytes = 0;
  /** The channel every packet of the run goes to. */
  channel = 0;
  readonly headers: Uint8Array[] = [];
  readonly payloads: Uint8Array[] = [];
  /** Per packet: the FEC payload ID (SBN · 2^(ESI bits) + ESI), then the CCI, both as 32-bit words (big-endian on the wire). */
  readonly words: Uint32Array;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0x10000) throw new LocalProtocolError('USAGE', `run capacity ${capacity}`);
    this.words = new Uint32Array(2 * capacity);
  }
}

export interface SenderStats {
  readonly objects: number;
  /** Current cycle, 0-based (equals `cycles` once a push session has finished its cycles). */
  readonly cycle: number;
  readonly packets: number;
  /** Datagram bytes (ALC headers included). */
  readonly bytes: number;
  /** Packets of file objects sent in the current cycle, and in a whole cycle. */
  readonly cyclePackets: number;
  readonly cycleTotal: number;
  /** Upper bound of the bytes held for blocks right now (sources, read-ahead, repair caches). */
  readonly bufferedBytes: number;
  readonly activeBlocks: number;
  readonly pendingReads: number;
}

interface Job {
  readonly obj: PlannedObject;
  readonly index: number;
  readonly block: SourceBlock;
  /**
   * The block's bytes: taken from the spare buffers when its read is issued (at creation when it
   * needs none), given back when the job leaves the air, or as soon as it is encoded when it sends
   * repair symbols only (encodedOnRead).
   */
  buf: Uint8Array | undefined;
  readonly id: number;
  issued: boolean;
  ready: boolean;
  encoder: BlockEncoder | undefined;
  /** Which slots of the block this job sends: all, source only (pass 1) or the rest (pass 2). */
  readonly pass: Pass;
  /** Repair pass: which of the `repairRounds` shares of the block's repair slots. */
  readonly round: number;
  order: Uint32Array | undefined;
  pos: number;
}

type Pass = 'all' | 'source' | 'repair';

/** An object's data-packet header, encoded once (see CarouselSender.templateFor). */
interface HeaderTemplate {
  readonly bytes: Uint8Array;
  /** EXT_TIME ERT it carries (on-demand), −1 for none. */
  readonly ert: number;
  /** 2^(ESI bits): the payload ID is SBN · sbnScale + ESI. */
  readonly sbnScale: number;
}

/** CCI bytes of every packet (C = 0; RFC 3738 §5.1 short form). */
const CCI_BYTES = 4;

function largestEsi(obj: PlannedObject): number {
  let m = 0;
  for (const b of obj.plan.blocks) m = Math.max(m, b.n - 1);
  return m;
}

/** Slots (packets) of a block in a pass: n·repeat in all, k source, the rest in the repair pass. */
function slotCount(obj: PlannedObject, block: SourceBlock, pass: Pass): number {
  const all = block.n * obj.repeat;
  return pass === 'all' ? all : pass === 'source' ? block.k : all - block.k;
}

/** Repair round r of R sends positions [start(r), start(r + 1)) of the block's repair order. */
function roundStart(repairSlots: number, round: number, rounds: number): number {
  return Math.floor((repairSlots * round) / rounds);
}

const SLAB_BYTES = 1 << 20;
/**
 * Reads in flight at most. Each is an open file in the shell; a repair window of hundreds of
 * small blocks (many small files) would otherwise ask for hundreds at once. Reads beyond this
 * wait for one to complete.
 */
const MAX_READS = 20;
const CID_TOI = 1;
const FIRST_FILE_TOI = 2;
const MAX_FILES = 0x7fff_fffe;

export class CarouselSender {
  private readonly cfg: SenderConfig;
  private readonly objects: PlannedObject[];
  private readonly cid: Job;
  private readonly window: number;
  private readonly repairWindow: number;
  private readonly prefetch: number;
  private readonly seed: number;
  private readonly channel: number;
  private readonly cidInterval: number;
  private phase: 'run' | 'closing' | 'done' = 'run';
  private cycle = 0;
  private nextObject = 1;
  private nextSbn = 0;
  private pass: Pass;
  private round = 0;
  private readonly rounds: number;
  /** The first push cycle's repair pass has every block on the air at once (one round, one window). */
  private readonly repairAllAtOnce: boolean;
  /** On-demand cycles: rounds over the blocks (1 when they all fit in the window at once). */
  private readonly spreadRounds: number;
  private readonly pipeline: Job[] = [];
  private readonly active: Job[] = [];
  /**
   * Block buffers of finished jobs, for the next job of the same length: a fresh 1.4 MB buffer
   * per job (~190 per 64 MB push cycle with the repair rounds) was most of the sender's GC.
   */
  private readonly spare: Uint8Array[] = [];
  private readonly reads = new Map<number, Job>();
  /** Jobs whose read completed and that are to be encoded at the next poll (encodedOnRead). */
  private readonly toEncode: Job[] = [];
  private rr = 0;
  private nextId = 1;
  private lastCidAt = -Infinity;
  private cidBursts = 0;
  private closeBurstsLeft: number;
  private remaining: number[];
  private psn = 0;
  /** Per object (index in `objects`): the header packet() starts from (templateFor). */
  private readonly templates: (HeaderTemplate | undefined)[] = [];
  private readonly cci = new Uint8Array(4);
  private slot: PacketSlot | undefined;
  /** A read fillPipeline issued while pollRun was filling a run: poll() returns it first. */
  private stashedRead: BlockRead | undefined;
  private slab = new Uint8Array(0);
  private slabUsed = 0;
  /** reuseDatagramBuffer: the one datagram buffer, and its last view (packets mostly share a size). */
  private scratch = new Uint8Array(0);
  private scratchView = new Uint8Array(0);
  private packets = 0;
  private bytes = 0;
  private cyclePackets = 0;
  private readonly cycleTotal: number;

  constructor(cfg: SenderConfig) {
    checkFecSettings(cfg.fec);
    if (!Number.isInteger(cfg.tsi) || cfg.tsi < 1 || cfg.tsi > 0xffff_ffff) throw new LocalProtocolError('USAGE', `TSI ${cfg.tsi}`);
    if (cfg.files.length > MAX_FILES) throw new LocalProtocolError('USAGE', `${cfg.files.length} files: at most ${MAX_FILES} per session`);
    if (cfg.mode === 'push' && !(Number.isInteger(cfg.cycles ?? 1) && (cfg.cycles ?? 1) >= 1)) throw new LocalProtocolError('USAGE', 'cycles must be ≥ 1');
    if (cfg.mode === 'on-demand' && cfg.deadline === undefined) throw new LocalProtocolError('USAGE', 'on-demand mode needs a deadline');
    if (!(Number.isInteger(cfg.repairRounds ?? 1) && (cfg.repairRounds ?? 1) >= 1)) throw new LocalProtocolError('USAGE', 'repairRounds must be ≥ 1');
    if (!(Number.isInteger(cfg.repairWindowBlocks ?? 1) && (cfg.repairWindowBlocks ?? 1) >= 1)) throw new LocalProtocolError('USAGE', 'repairWindowBlocks must be ≥ 1');
    if (!(Number.isInteger(cfg.onDemandRounds ?? 1) && (cfg.onDemandRounds ?? 1) >= 1)) throw new LocalProtocolError('USAGE', 'onDemandRounds must be ≥ 1');
    this.cfg = cfg;
    this.seed = cfg.seed ?? 1;
    this.channel = cfg.channel ?? 0;
    this.cidInterval = cfg.cidIntervalMs ?? 1000;
    this.pass = this.passFor(0);
    this.closeBurstsLeft = cfg.closeRepeats ?? 3;
    const files = cfg.files.map((f, i) => planFile(FIRST_FILE_TOI + i, f, cfg.fec, cfg.schemes, this.seed));
    const list = buildCidList(files.map((o) => o.toi));
    const cid = encodeCidObject({ list, complete: true, ciid: 0 });
    this.objects = [planMemoryObject(CID_TOI, cid, 'CID 0', cfg.fec, cfg.schemes, this.seed), ...files];
    this.cid = this.memoryJob(this.objects[0]!, 0, 0);
    this.remaining = this.objects.map((o) => o.slots);
    this.cycleTotal = files.reduce((s, o) => s + o.slots, 0);
    const perJob = this.largestJobBytes();
    this.prefetch = Math.max(0, cfg.prefetchBlocks ?? 4);
    const byBudget = Math.floor((cfg.memoryBudget ?? 128 * 1024 * 1024) / perJob) - this.prefetch;
    this.window = Math.max(1, Math.min(cfg.maxActiveBlocks ?? 16, byBudget));
    this.repairWindow = Math.max(1, Math.min(cfg.repairWindowBlocks ?? byBudget, byBudget));
    this.rounds = cfg.repairRounds ?? (this.repairBlocks() <= this.repairWindow ? 1 : 3);
    this.repairAllAtOnce = this.rounds === 1 && this.repairBlocks() <= this.repairWindow;
    this.spreadRounds = this.fileBlocks() <= this.repairWindow ? 1 : (cfg.onDemandRounds ?? this.quarterRounds());
  }

  /** The compound objects, TOI order (index 0 is the CID). */
  planned(): readonly PlannedObject[] {
    return this.objects;
  }

  /** W after the memory budget (blocks on the air at once; on-demand cycles: the budget's window). */
  windowSize(): number {
    return this.cfg.mode === 'on-demand' ? this.repairWindow : this.window;
  }

  /** On-demand cycles: blocks on the air at once and rounds over the cycle's blocks. */
  onDemandPlan(): { readonly windowBlocks: number; readonly rounds: number } {
    return { windowBlocks: this.repairWindow, rounds: this.spreadRounds };
  }

  /** W_r and the rounds of the first push cycle's repair pass (after the memory budget). */
  repairPlan(): { readonly windowBlocks: number; readonly rounds: number } {
    return { windowBlocks: this.repairWindow, rounds: this.rounds };
  }

  stats(): SenderStats {
    let buffered = 0;
    for (const j of this.pipeline) buffered += this.jobBytes(j);
    for (const j of this.active) buffered += this.jobBytes(j);
    return {
      objects: this.objects.length - 1,
      cycle: this.cycle,
      packets: this.packets,
      bytes: this.bytes,
      cyclePackets: this.cyclePackets,
      cycleTotal: this.cycleTotal,
      bufferedBytes: buffered,
      activeBlocks: this.active.length,
      pendingReads: this.reads.size,
    };
  }

  /** Stop now (e.g. the operator pressed Ctrl-C): the next polls send the closing CID bursts. */
  close(): void {
    if (this.phase === 'run') this.startClosing();
  }

  /** The shell filled the target of read `id`. Unknown ids (a read outliving a close) are ignored. */
  readDone(id: number): void {
    const job = this.reads.get(id);
    if (job === undefined) return;
    this.reads.delete(id);
    // Encoded (and made ready) at the next poll, so that an encoder's error surfaces there.
    if (this.encodedOnRead(job)) this.toEncode.push(job);
    else job.ready = true;
  }

  /**
   * Next thing for the shell to do. Call again after acting on it.
   *
   * `slot` lets a rate controller decide the channel and CCI of the next packet (WEBRC: the
   * SenderSchedule of src/rate says which channel sends when, with which CTSI/CN/PSN; the
   * carousel fills the slot with its next symbol, so every channel carries different symbols).
   * It is used only when the result is a transmit; otherwise keep it for the next poll. Without
   * it, packets go to `channel` with the base-channel CCI of a fixed-rate session.
   */
  poll(now: number, slot?: PacketSlot): SenderOutput {
    this.slot = slot;
    const stashed = this.stashedRead;
    if (stashed !== undefined) {
      this.stashedRead = undefined;
      return stashed;
    }
    for (let guard = 0; guard < 8; guard++) {
      if (this.phase === 'done') return { kind: 'done' };
      if (this.phase === 'closing') return this.pollClosing(now);
      if (this.cfg.mode === 'on-demand' && now >= this.cfg.deadline!) {
        this.startClosing();
        continue;
      }
      if (this.cid.order !== undefined || now - this.lastCidAt >= this.cidInterval) return this.emitCid(now, false);
      const read = this.fillPipeline();
      if (read !== undefined) return read;
      this.activate();
      if (this.active.length > 0 && !this.holdForReads()) return this.emitData(now);
      if (this.pipeline.length > 0) return { kind: 'wait', until: this.wakeAt() };
      this.endCycle();
    }
    // Only reached when cycles hold no data packets at all (no files): let time pass.
    return { kind: 'wait', until: this.wakeAt() };
  }

  /**
   * The next plain data packets, as poll(now) would return them one by one (same order, bytes,
   * PSNs; the base channel and CCI, no slot), described into `run` (see DataRun): at most
   * `maxPackets`, and while their datagram bytes plus `overhead` each stay within `maxBytes`.
   * Stops before anything else: a CID packet, a packet with a close flag, a read (kept for the
   * next poll), a wait, a cycle's end, the close. Also after a block's last packet: the block
   * leaves the air there and its buffers (held by the run's views) may serve another block.
   * Returns the packets described; 0 = call poll(now).
   */
  pollRun(now: number, run: DataRun, maxPackets: number, maxBytes: number, overhead: number): number {
    run.count = 0;
    run.wireBytes = 0;
    run.channel = this.channel;
    this.slot = undefined;
    if (this.stashedRead !== undefined) return 0;
    const limit = Math.min(maxPackets, run.capacity);
    const lastCycle = this.cfg.mode === 'push' && this.cycle === (this.cfg.cycles ?? 1) - 1;
    while (run.count < limit && this.phase === 'run') {
      if (this.cfg.mode === 'on-demand' && now >= this.cfg.deadline!) break;
      if (this.cid.order !== undefined || now - this.lastCidAt >= this.cidInterval) break;
      const read = this.fillPipeline();
      if (read !== undefined) {
        this.stashedRead = read;
        break;
      }
      this.activate();
      if (this.active.length === 0 || this.holdForReads() || !this.describe(now, run, lastCycle, maxBytes, overhead)) break;
    }
    return run.count;
  }

  /**
   * Describe the next data packet into `run` as emitData would make it; false when it does not
   * fit or is not plain (B flag), or when it was its block's last (the run must end there).
   */
  private describe(now: number, run: DataRun, lastCycle: boolean, maxBytes: number, overhead: number): boolean {
    if (this.rr >= this.active.length) this.rr = 0;
    const job = this.active[this.rr]!;
    if (lastCycle && this.remaining[job.index] === 1) return false;
    const esi = job.order![job.pos]! % job.block.n;
    const payload = this.payloadOf(job, esi);
    const t = this.templateFor(job, this.ertAt(now));
    const size = t.bytes.length + payload.length;
    if (run.wireBytes + size + overhead > maxBytes) return false;
    job.pos++;
    this.remaining[job.index]!--;
    const i = run.count++;
    run.headers[i] = t.bytes;
    run.payloads[i] = payload;
    run.words[2 * i] = job.block.sbn * t.sbnScale + esi;
    // The base-channel CCI of packet(): CTSI 0, CN, PSN.
    run.words[2 * i + 1] = ((this.channel & 0xff) << 16) | this.psn;
    this.psn = (this.psn + 1) & 0xffff;
    run.wireBytes += size + overhead;
    this.packets++;
    this.bytes += size;
    this.cyclePackets++;
    return !this.afterTurn(job);
  }

  private wakeAt(): number {
    const cidAt = this.lastCidAt + this.cidInterval;
    return this.cfg.mode === 'on-demand' ? Math.min(this.cfg.deadline!, cidAt) : cidAt;
  }

  /** Source bytes plus the repair symbols an LDPC encoder caches ((n − k)·E), of the largest block. */
  private largestJobBytes(): number {
    let m = 1;
    for (const o of this.objects) {
      const e = o.oti.symbolSize;
      const first = o.plan.blocks[0];
      if (first !== undefined) m = Math.max(m, first.k * e + (o.oti.encodingId === 3 ? (first.n - first.k) * e : 0));
    }
    return m;
  }

  /** File blocks that have repair slots in the first push cycle (the repair pass's jobs). */
  private repairBlocks(): number {
    let count = 0;
    for (let i = 1; i < this.objects.length; i++) {
      const o = this.objects[i]!;
      for (const b of o.plan.blocks) if (slotCount(o, b, 'repair') > 0) count++;
    }
    return count;
  }

  /** File blocks of a cycle. */
  private fileBlocks(): number {
    let count = 0;
    for (let i = 1; i < this.objects.length; i++) count += this.objects[i]!.plan.blocks.length;
    return count;
  }

  /** Rounds in which each block sends at most a quarter of its k per round: ceil(4·n·repeat / k) of the largest ratio. */
  private quarterRounds(): number {
    let most = 1;
    for (let i = 1; i < this.objects.length; i++) {
      const o = this.objects[i]!;
      for (const b of o.plan.blocks) most = Math.max(most, Math.ceil((4 * b.n * o.repeat) / Math.max(1, b.k)));
    }
    return most;
  }

  /** An on-demand cycle (not push): spread over the budget's window, in rounds when it holds fewer blocks than the cycle. */
  private spreads(pass: Pass): boolean {
    return pass === 'all' && this.cfg.mode === 'on-demand';
  }

  /** Blocks on the air at once for jobs of `pass`. */
  private windowFor(pass: Pass): number {
    return pass === 'repair' || this.spreads(pass) ? this.repairWindow : this.window;
  }

  /** Rounds over the cycle's blocks for jobs of `pass`, each sending its share of every block's slots. */
  private roundsFor(pass: Pass): number {
    return pass === 'repair' ? this.rounds : this.spreads(pass) ? this.spreadRounds : 1;
  }

  private memoryJob(obj: PlannedObject, index: number, sbn: number): Job {
    const block = obj.plan.blocks[sbn]!;
    const buf = obj.memory!.subarray(block.offset, block.offset + block.length);
    return { obj, index, block, buf, id: 0, issued: true, ready: true, pass: 'all', round: 0, encoder: undefined, order: undefined, pos: 0 };
  }

  /** Queue the next blocks of the cycle up to W + P jobs; return the first read not yet issued. */
  private fillPipeline(): BlockRead | undefined {
    if (this.toEncode.length > 0) this.encodeRead();
    while (this.pipeline.length + this.active.length < this.windowFor(this.pass) + this.prefetch && this.nextObject < this.objects.length) {
      // The repair pass starts once the source pass is off the air (a barrier, not a blend).
      if (this.pass === 'repair' && this.sourcePassOnAir()) break;
      const index = this.nextObject;
      const obj = this.objects[index]!;
      const sbn = this.nextSbn;
      const pass = this.pass;
      const round = this.round;
      if (sbn + 1 < obj.plan.blocks.length) {
        this.nextSbn++;
      } else {
        this.nextObject++;
        this.nextSbn = 0;
        if (this.nextObject >= this.objects.length && this.pass === 'source') {
          this.pass = 'repair';
          this.round = 0;
          this.nextObject = 1;
        } else if (this.nextObject >= this.objects.length && this.round + 1 < this.roundsFor(this.pass)) {
          this.round++;
          this.nextObject = 1;
        }
      }
      if (this.jobSlots(obj, obj.plan.blocks[sbn]!, pass, round) > 0) this.pipeline.push(this.fileJob(obj, index, sbn, pass, round));
    }
    if (this.reads.size >= MAX_READS) return undefined;
    for (const job of this.pipeline) {
      if (job.issued) continue;
      job.issued = true;
      this.reads.set(job.id, job);
      const buf = this.loadBuffer(job);
      const dataStart = job.obj.header.length;
      const headerPart = Math.max(0, dataStart - job.block.offset);
      return { kind: 'read', id: job.id, key: job.obj.key!, fileOffset: job.block.offset + headerPart - dataStart, target: buf.subarray(headerPart) };
    }
    return undefined;
  }

  /** A source-pass job is still queued or on the air. Runs on every poll while the barrier holds, so no arrays or closures. */
  private sourcePassOnAir(): boolean {
    for (let i = 0; i < this.pipeline.length; i++) if (this.pipeline[i]!.pass === 'source') return true;
    for (let i = 0; i < this.active.length; i++) if (this.active[i]!.pass === 'source') return true;
    return false;
  }

  /** Packets a job sends: its round's share of its pass's slots. */
  private jobSlots(obj: PlannedObject, block: SourceBlock, pass: Pass, round: number): number {
    const slots = slotCount(obj, block, pass);
    const rounds = this.roundsFor(pass);
    return roundStart(slots, round + 1, rounds) - roundStart(slots, round, rounds);
  }

  /** A job for block `sbn` of a file object: its buffer comes with its read (or now, when the FCAST header holds the whole block). */
  private fileJob(obj: PlannedObject, index: number, sbn: number, pass: Pass, round: number): Job {
    const block = obj.plan.blocks[sbn]!;
    const needsRead = block.offset + block.length > obj.header.length;
    const job: Job = { obj, index, block, buf: undefined, id: this.nextId++, issued: !needsRead, ready: !needsRead, pass, round, encoder: undefined, order: undefined, pos: 0 };
    if (!needsRead) this.loadBuffer(job);
    return job;
  }

  /** The job's buffer, with the header bytes it holds copied in; the read writes every other byte. */
  private loadBuffer(job: Job): Uint8Array {
    const { block } = job;
    const buf = this.takeBuffer(block.length, job.obj.oti.symbolSize);
    const header = job.obj.header;
    if (block.offset < header.length) buf.set(header.subarray(block.offset, Math.min(header.length, block.offset + block.length)));
    job.buf = buf;
    return buf;
  }

  /**
   * A job that sends repair symbols only (a repair pass of a coded object: every slot an ESI ≥ k)
   * is encoded as soon as its read is done, and its block buffer goes back at once: the encoder
   * serves repair symbols from its own buffer and reads the source no more (BlockEncoder.symbol).
   * The repair pass puts every block on the air at once and holds until all are read (see
   * "Transmission order"): holding each block's source until its first repair packet took 32
   * fresh 1.4 MB buffers per 64 MB push (first-touch page faults and external-memory GCs, ~10% of
   * the sender's CPU in the peer harness); now its reads take turns on the source pass's spares.
   */
  private encodedOnRead(job: Job): boolean {
    return job.pass === 'repair' && job.obj.repeat === 1;
  }

  /** Encode the jobs whose reads completed (encodedOnRead), give their buffers back, make them ready. */
  private encodeRead(): void {
    for (const job of this.toEncode) {
      job.encoder ??= job.obj.scheme.createEncoder(job.obj.plan, job.block.sbn, job.buf!);
      job.encoder.symbol(job.block.k);
      this.recycle(job);
      job.ready = true;
    }
    this.toEncode.length = 0;
  }

  /** Bytes a job holds now: its block buffer, plus the repair symbols of an LDPC encoder in use. */
  private jobBytes(job: Job): number {
    const repair = job.encoder !== undefined && job.obj.oti.encodingId === 3 ? (job.block.n - job.block.k) * job.obj.oti.symbolSize : 0;
    return (job.buf?.length ?? 0) + repair;
  }

  /**
   * `length` bytes of a spare buffer, the smallest that holds them and is less than two symbols
   * longer, else a fresh one. An object's blocks come in two lengths one symbol apart (the
   * partition of RFC 5052 §9.1, the FCAST header counted in), the last one shorter still by its
   * short last symbol: a 64 MB file's 48 blocks took 36 fresh buffers per push with exact matches
   * (the first 32 blocks' buffers sat idle), where the window's 20 serve.
   */
  private takeBuffer(length: number, symbolSize: number): Uint8Array {
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) {
      const size = this.spare[i]!.length;
      if (size >= length && size - length < 2 * symbolSize && (best < 0 || size < this.spare[best]!.length)) best = i;
    }
    if (best < 0) return new Uint8Array(length);
    const b = this.spare[best]!;
    this.spare[best] = this.spare[this.spare.length - 1]!;
    this.spare.pop();
    return b.subarray(0, length);
  }

  /** A file job's buffer it no longer reads (no read pending, no encoder that reads it) goes back for reuse. */
  private recycle(job: Job): void {
    const buf = job.buf;
    if (job.id === 0 || buf === undefined) return;
    job.buf = undefined;
    // The whole buffer (takeBuffer may have handed out the start of it).
    if (this.spare.length <= Math.max(this.window, this.repairWindow) + this.prefetch) this.spare.push(new Uint8Array(buf.buffer));
  }

  /**
   * Hold the data while under half the window is on the air and reads for more are in flight.
   * The shell's reads complete only when its send loop yields, so at the start of a pass the first
   * block read went out alone, back to back: 486 of block 0's 999 source symbols before any other
   * block (64 MB push, loopback). A receiver that joined ~0.1 s late, or lost that burst, lost more
   * of block 0 than its n − k repair symbols, and block 0 holds the FCAST header, so no block of
   * the object could be placed (issue 4: a harness receiver slow to start ended with 16 of 48
   * blocks undecoded at 97% of the packets). Holding costs the reads of W/2 blocks once per pass.
   * A repair pass that puts every block on the air at once waits for all of them (see
   * "Transmission order"): its reads are of blocks just sent, from the page cache.
   */
  private holdForReads(): boolean {
    if (this.reads.size === 0) return false;
    for (let i = 0; i < this.pipeline.length; i++) {
      const job = this.pipeline[i]!;
      if (job.ready) continue;
      if (job.pass === 'repair' && this.repairAllAtOnce) return true;
      return this.active.length * 2 < this.windowFor(job.pass);
    }
    return false;
  }

  /** Move ready jobs (pipeline order) into free window slots; each gets its encoder and order. */
  private activate(): void {
    for (let i = 0; i < this.pipeline.length; ) {
      const job = this.pipeline[i]!;
      if (this.active.length >= this.windowFor(job.pass)) break;
      if (!job.ready) {
        i++;
        continue;
      }
      this.pipeline.splice(i, 1);
      this.start(job, this.cycle);
      this.active.push(job);
    }
  }

  private start(job: Job, salt: number): void {
    job.encoder ??= job.obj.scheme.createEncoder(job.obj.plan, job.block.sbn, job.buf!);
    const k = job.block.k;
    const seed = seedOf(this.seed, job.obj.toi, job.block.sbn, salt);
    const all = permutation(slotCount(job.obj, job.block, job.pass), seed);
    // Slot s stands for ESI s mod n; the repair pass holds the slots from k upwards, and a round
    // takes its share of one order (the same seed in every round: each slot goes once).
    const rounds = job.id === 0 ? 1 : this.roundsFor(job.pass);
    const order = all.subarray(roundStart(all.length, job.round, rounds), roundStart(all.length, job.round + 1, rounds));
    if (job.pass === 'repair') for (let i = 0; i < order.length; i++) order[i] = order[i]! + k;
    job.order = order;
    job.pos = 0;
  }

  private passFor(cycle: number): Pass {
    return this.cfg.mode === 'push' && cycle === 0 && (this.cfg.systematicFirstPass ?? true) ? 'source' : 'all';
  }

  private endCycle(): void {
    this.cycle++;
    this.cyclePackets = 0;
    if (this.cfg.mode === 'push' && this.cycle >= (this.cfg.cycles ?? 1)) {
      this.startClosing();
      return;
    }
    this.nextObject = 1;
    this.nextSbn = 0;
    this.pass = this.passFor(this.cycle);
    this.round = 0;
    this.remaining = this.objects.map((o) => o.slots);
    this.lastCidAt = -Infinity; // every cycle starts with the CID
  }

  private startClosing(): void {
    for (const j of this.active) j.encoder?.dispose();
    for (const j of this.pipeline) j.encoder?.dispose();
    this.toEncode.length = 0;
    this.active.length = 0;
    this.pipeline.length = 0;
    this.reads.clear();
    this.stashedRead = undefined;
    this.cid.order = undefined;
    this.phase = this.closeBurstsLeft > 0 ? 'closing' : 'done';
  }

  private pollClosing(now: number): SenderOutput {
    const out = this.emitCid(now, true);
    if (this.cid.order === undefined) {
      this.closeBurstsLeft--;
      if (this.closeBurstsLeft <= 0) this.phase = 'done';
    }
    return out;
  }

  /** Next packet of the current CID burst (a burst = every CID symbol once, fresh order). */
  private emitCid(now: number, closing: boolean): Transmit {
    const job = this.cid;
    if (job.order === undefined) {
      this.start(job, 0x8000_0000 + this.cidBursts++);
      this.lastCidAt = now;
    }
    const slot = job.order![job.pos++]!;
    if (job.pos >= job.order!.length) job.order = undefined;
    return this.packet(job, slot % job.block.n, now, closing, closing);
  }

  private emitData(now: number): Transmit {
    if (this.rr >= this.active.length) this.rr = 0;
    const job = this.active[this.rr]!;
    const slot = job.order![job.pos++]!;
    const left = --this.remaining[job.index]!;
    const lastCycle = this.cfg.mode === 'push' && this.cycle === (this.cfg.cycles ?? 1) - 1;
    const tx = this.packet(job, slot % job.block.n, now, lastCycle && left === 0, false);
    this.cyclePackets++;
    this.afterTurn(job);
    return tx;
  }

  /** The round robin moves on after a packet of `job`; true when that was the job's last (it left the air). */
  private afterTurn(job: Job): boolean {
    if (job.pos >= job.order!.length) {
      job.encoder!.dispose();
      job.encoder = undefined;
      job.order = undefined;
      this.recycle(job);
      // The next ready block takes this slot, so the round robin keeps its spacing.
      const next = this.pipeline.findIndex((j) => j.ready);
      if (next >= 0) {
        const [replacement] = this.pipeline.splice(next, 1);
        this.start(replacement!, this.cycle);
        this.active[this.rr] = replacement!;
        this.rr++;
      } else {
        this.active.splice(this.rr, 1);
      }
      return true;
    }
    this.rr++;
    return false;
  }

  /** EXT_TIME ERT of a packet sent at `now`: whole seconds left on the air (on-demand), −1 for none. */
  private ertAt(now: number): number {
    return this.cfg.mode === 'on-demand' ? Math.max(0, Math.ceil((this.cfg.deadline! - now) / 1000)) : -1;
  }

  /** Symbol `esi` of the job's block as it goes on the wire. */
  private payloadOf(job: Job, esi: number): Uint8Array {
    const { obj, block } = job;
    const payload = job.encoder!.symbol(esi);
    if (esi === block.k - 1 && block.sbn === obj.plan.blocks.length - 1) {
      // The short last source symbol goes at its true length (RFC 5445 §3.2.2.2, RFC 5170 §5.6).
      return payload.subarray(0, obj.oti.transferLength - (block.offset + (block.k - 1) * obj.oti.symbolSize));
    }
    return payload;
  }

  /**
   * A fresh datagram buffer, carved from 1 MiB slabs: one allocation per ~700 packets instead of
   * one each (allocation and GC were a third of the core's time per packet). A slab is never
   * reused, only dropped, so a buffer stays valid as long as the shell holds it.
   */
  private allocate(size: number): Uint8Array {
    if (this.cfg.reuseDatagramBuffer === true) return this.reusedView(size);
    if (this.slabUsed + size > this.slab.length) {
      this.slab = new Uint8Array(Math.max(SLAB_BYTES, size));
      this.slabUsed = 0;
    }
    const out = this.slab.subarray(this.slabUsed, this.slabUsed + size);
    this.slabUsed += size;
    return out;
  }

  /**
   * The shared datagram buffer, `size` bytes of it. Even the slabs above cost 100 MB of fresh
   * ArrayBuffers per 64 MB push: page faults on first touch and external-memory GCs.
   */
  private reusedView(size: number): Uint8Array {
    if (this.scratchView.length === size) return this.scratchView;
    if (this.scratch.length < size) this.scratch = new Uint8Array(Math.max(size, 2048));
    this.scratchView = this.scratch.subarray(0, size);
    return this.scratchView;
  }

  /**
   * The ALC header of job's object as src/wire encodes it (no close flags, zero CCI, SBN 0 and
   * ESI 0), made once per object (and per ERT value on demand): packet() copies it and writes
   * the few fields that differ. Encoding each header field by field through the Writer was a
   * fifth of the sender's per-packet time, and the largest function TurboFan had to compile,
   * again after every deoptimisation (3 times per push). Made with the object's largest SBN and
   * ESI first, so that the wire encoder checks once that every payload ID of the object fits.
   */
  private templateFor(job: Job, ert: number): HeaderTemplate {
    const t = this.templates[job.index];
    if (t !== undefined && t.ert === ert) return t;
    const { obj } = job;
    const oti = obj.oti;
    const init: AlcPacketInit = {
      tsi: this.cfg.tsi,
      toi: obj.toi,
      codepoint: oti.encodingId,
      fti: oti,
      time: ert < 0 ? undefined : { ert },
      sbn: obj.plan.blocks.length - 1,
      esi: largestEsi(obj),
    };
    const bytes = new Uint8Array(alcHeaderSize(init));
    encodeAlcPacket(bytes, init);
    encodeAlcPacket(bytes, { ...init, sbn: 0, esi: 0 });
    const made: HeaderTemplate = { bytes, ert, sbnScale: 2 ** esiBits(oti.encodingId) };
    this.templates[job.index] = made;
    return made;
  }

  private packet(job: Job, esi: number, now: number, closeObject: boolean, closeSession: boolean): Transmit {
    const { obj, block } = job;
    const payload = this.payloadOf(job, esi);
    // CCI, WEBRC short form for the base channel of a fixed-rate session (RFC 3738 §5.1):
    // CTSI 0, CN, 16-bit PSN, copied into the packet below, so one scratch array serves every packet.
    let cci: Uint8Array = this.cci;
    const slot = this.slot;
    if (slot !== undefined) {
      cci = slot.cci;
      if (cci.length !== CCI_BYTES) throw new LocalProtocolError('WIRE_VALUE', `CCI of ${cci.length} bytes: the carousel's headers carry ${CCI_BYTES}`);
    } else {
      cci[1] = this.channel & 0xff;
      cci[2] = (this.psn >>> 8) & 0xff;
      cci[3] = this.psn & 0xff;
      this.psn = (this.psn + 1) & 0xffff;
    }
    const t = this.templateFor(job, this.ertAt(now));
    const header = t.bytes;
    const h = header.length;
    const bytes = this.allocate(h + payload.length);
    bytes.set(header);
    // The fields that change from packet to packet, where RFC 5651 §5.1 puts them: A (close
    // session) and B (close object) are the two low bits of the second byte, the CCI (C = 0: 32
    // bits) follows the first word; the FEC Payload ID ends the header (RFC 5775 §2.1; RFC 5170
    // §4.1 / RFC 5445 §3.2.1: SBN above the ESI bits, 32 bits big-endian).
    if (closeSession || closeObject) bytes[1] = bytes[1]! | (closeSession ? 2 : 0) | (closeObject ? 1 : 0);
    bytes[4] = cci[0]!;
    bytes[5] = cci[1]!;
    bytes[6] = cci[2]!;
    bytes[7] = cci[3]!;
    const id = block.sbn * t.sbnScale + esi;
    bytes[h - 4] = id >>> 24;
    bytes[h - 3] = (id >>> 16) & 0xff;
    bytes[h - 2] = (id >>> 8) & 0xff;
    bytes[h - 1] = id & 0xff;
    bytes.set(payload, h);
    this.packets++;
    this.bytes += bytes.length;
    this.slot = undefined;
    return { kind: 'transmit', channel: slot?.channel ?? this.channel, bytes, at: now, toi: obj.toi, sbn: block.sbn, esi };
  }
}

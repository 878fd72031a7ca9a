// WEBRC receiver controller (RFC 3738 §3.2; SPEC-NOTES §6.3, §6.4, §7 rows 20-22): decides which
// channels to join and leave from the CCI of the packets it receives and the passage of time.
//
// Sans-IO: the shell feeds `onPacket(now, cci)` for every packet that passed the session checks
// (RFC 5775 §4.4 step 3) and `handleTimeout(now)` at `nextTimeout()`, then drains `poll()` and
// performs the joins and leaves (IGMP/MLD). `now` is in milliseconds; the RFC's quantities are kept
// in seconds and packets/s.
//
// Implemented, besides every MUST: the RECOMMENDED constants (Nu, Delta, Alpha, EL = TSD/20, Beta,
// Zeta, SSMINR_P, the (b) threshold, the join timeout max(2V/ARTT, 10·ARTT), the exceptional
// timeouts max(10, TSD) and max(20, 2·TSD)); the CTSI reorder rule (d > T − Q/2 ignored); reordered
// packets are not losses (a missing PSN is lost once `reorderPackets` later packets of its channel
// arrived or `reorderDelayMs` passed); losses at the tail of a wave are found from the end-of-wave
// PSN 2^16 − 1 when the wave goes quiescent (after the reorder delay: drainWaveTail). OPTIONAL rules implemented: start-up rule (d) (wait one epoch
// after a wave's first packet; stop start-up when TRR_P lags ARR_P), the RR_P check before joining
// (RR_P <= max(RRmax − 2/EL, P·RRmax); when it blocks, LOSSP is set so that REQN equals the join
// threshold, as the RFC says, but [ours] by scaling the loss history instead of clearing it, see
// below), the SHOULD to leave the session on persistent base loss
// while joined to the base alone (half or more of 2·L base packet events lost), and the MRR_P cap
// (option `mrrP`). Not implemented: learning T, LENP_B or BCR_P from packets (the session
// description carries them, §3.2.1 MAY).
//
// [ours]: JoinTime is when the join's membership report leaves the host: when the join is made
// (the epoch timer may run late; the epoch's rates are still computed for its boundary) plus the
// host's report delay (option `reportDelayMs`: Linux sends an IGMPv3/MLDv2 report from a timer a
// few ticks later, src/net/webrc-groups.ts), so that ARTT is the path's round trip, as the
// equation wants, not the host's timer. Start-up rule (b)'s "large rise" is the RECOMMENDED
// threshold or 4·MDEV, whichever is larger, where MDEV is the mean deviation of MRTT from ARTT
// (gain 1/4, from ARTT/2 at the base join: RFC 6298's RTTVAR, whose 4·RTTVAR margin this
// borrows). The RFC's threshold, ~(1 − P^(NWC+1))/(P·ln(1/P))/ARR_P, is about the most the wait for a
// wave's first packet (uniform over one packet gap of the joined layer) can vary between two
// joins; delay that other traffic adds to the shared queue, and the host's own timers, vary
// more: with one TCP flow on the path, successive join latencies moved by 30 ms and more while
// the RFC's threshold was 27 ms (bench/webrc-fairness.ts traces), which ended start-up at
// 3.9 Mbit/s of a 10 Mbit/s fair share. A rise above the measured noise still ends start-up (the
// MUST); losses (rule (a)) and rule (d) are unchanged.
// The RR_P check's LOSSP "reset" (§3.2.3.6, an OPTIONAL check) scales Z, X and W to the new LOSSP
// (LossEstimator.rescale) rather than clearing W, X and Y: a cleared history holds REQN flat until
// the loss-free run W passes ~1.2/LOSSP packets (Z2 > Z1), seconds at these rates, and next to a
// TCP flow the check blocked 6 to 17 times a minute, just as REQN crossed the threshold (so the
// reset hardly moved REQN but restarted that wait each time): LOSSP stayed pinned near the
// receiver's own rate, at twice the loss event rate it measured (5.3e-4 measured, 1.1e-3 held),
// and WEBRC got 0.32 of a Reno flow's throughput in one run. Alone on a bottleneck the check
// still keeps its purpose (joins spaced until RR_P falls; the simulated receivers' loss stays
// under 2%; with no check at all it rose to 4.5%).
// Epoch boundaries [ours]: an epoch ends at its boundary, also when the shell's timer runs late:
// the first packet past a boundary runs the due timers before it is counted. Counted into the
// closing epoch instead, packets that arrived while the 10 ms interval timer was 0-10 ms late
// (more on a busy event loop) made RR_P swing by ±20% at EL = 50 ms (TSD 1 s); the RR_P check
// then passed on the first low sample, a receiver joined 3-5 waves within ~0.7 s after REQN
// crossed the join threshold, 20-40% over a 10 Mbit/s link, and with P = 0.9 the waves take
// 2-3 slots to decay back: 3.4-5% tbf loss in netns. Virtual time (sim.ts lateMs 10, 80 Mbit/s
// session, 10 Mbit/s link): 3.37% loss with the late count, 0.00% on time.
// Epochs the receiver did not see end [ours]: when the shell handled nothing (no packet, no
// timer) for more than max(EL/4, 4 packet gaps at the last epoch's RR_P), its event loop was busy
// (decoding, writing, GC) while packets waited in the socket buffer; they are read after the
// boundaries that passed meanwhile and would count into a later epoch, so one epoch reads short
// and the next long. Every boundary in the stall, and up to the stall's length after the resume
// (the backlog is read then, at least as fast as packets arrive), is merged into one epoch
// (at most MAX_MERGED_EPOCHS): its rate is their mean, the filters still step once per epoch,
// and the join rule runs when it ends. A wave's first packet read in that time does not time its
// join (it came at an unknown time before). A bottleneck queue delivers packets steadily, so it
// never looks like this; a stall does. Before, one stall of 40 ms across a boundary in start-up
// ended it on rule (d) at 8-18% of a fast path in virtual time (test/unit/rate/stall.test.ts);
// measured, pushes ended start-up at 36-50% after an epoch that counted 9% of the rate, and in
// netns at 100M after loop stalls of 118-286 ms the boundary 2 ms after the resume closed an epoch
// at 31% of the rate, the next read 350%, and start-up ended on rule (d).
// Rule (d) [ours] ends start-up when TRR_P lags ARR_P at two epoch boundaries in a row, not one;
// the first holds the join. One short epoch is also what a sender that fell behind for a moment
// looks like (it then catches up at 1.5x, src/net/webrc-pacer.ts): on loopback at 1 Gbit/s an
// epoch of 13 packets between two of 32 and 52, with the receiver reading throughout, ended
// start-up at 5% of the rate. A queue that builds up lags in every epoch that follows.
// And [ours] an epoch counts only when the receiver got less than the sender sent on the joined
// channels: a PSN gap counted lost in it or still open at its end. Without one, every packet the
// sender sent arrived and the lag is the sender's (it shares the CPU: with kernel arrival stamps, a
// 1G epoch at 1300 packets/s between two at 1760 and 2420, no PSN gap, ended start-up); such an
// epoch holds the join but does not count. A sender that dips to 50-70% for 100-300 ms (up to
// 100 ms behind; virtual time, test/unit/rate/sender-dip.test.ts) ended start-up on (d) at 3-9%
// in 22 of 30 runs; now 30 of 30 reach 90% at 2.3-2.6 s (2.3 s without a dip). A bottleneck
// still ends it: a short queue overflows (rule (a); 20 Mbit/s, 50 ms of queue: at 1.6 s, 112
// packets lost, was (d) at 1.4 s, 41), a long one delays the next join's first packet (rule
// (b); 1 s of queue: at 2.4 s, was (d) at 1.4 s), and the held joins keep it from overshooting
// meanwhile. A sender further behind delays that first packet as much: 150 ms ends start-up on
// (b), a MUST.
// Start-up exits (b) and (d) [ours] open a loss event (LOSS_EVENT for ARTT; losses that happened
// within ARTT of the exit belong to it) without counting one: they see the overflow that its
// losses, found up to the reorder delay later, report again. Counted as a new event right after
// the reset of LOSSP, such a loss closed a loss interval of the few packets since the reset: in
// a fairness trace two losses 70 and 180 ms after a (d) exit at 4.2 Mbit/s (intervals of ~30 and
// ~40 packets) held REQN near 4.5 Mbit/s for the next 15 s.
// Overload [ours]: after start-up, when the packets read in an epoch with losses come to less
// than P·ARR_P (the path delivers less than the layers joined carry by more than one layer's
// step), two epochs in a row, the receiver leaves its highest joined layer, then one more each
// epoch while it lasts. ARR_P drops by that layer's share at once, so the leaves stop when the
// layers joined are within one step of what the path delivers, whatever the leave latency (and
// every packet read counts as delivered, also those of a layer just left still in the queue);
// TRR_P is brought down to the rate delivered, SSR_P to P times that, and LOSSP rescaled so that
// REQN is no higher, so that the join rule does not re-join what the old rate allowed. The RFC
// lowers a rate only by not joining (§2: the receiver "remains joined to the wave channel until
// the channel goes quiescent"): its waves decay x P a slot, so a link that shrinks 5x is reached
// in ln 5 / ln(1/P) slots (10 at P 0.85, 16 at 0.9), with half or more of what the receiver is
// offered meanwhile dropped. Leaving the highest layer keeps the joined set the lowest layers
// (every MUST holds). Virtual time, the netns test's 50 -> 10 Mbit/s receiver (bench/webrc-drop.ts):
// within 1.3x of the new link 16 epochs after the drop instead of 128, 1,230 packets lost after
// it instead of 8,060, loss over the whole receive 3.3% instead of 14%; in netns 3.3% instead of
// 14-20%, 10 layers left in 10 epochs. A settled receiver's loss of a few percent does not trigger
// it; joins that overshoot a full link by a step or more do (netns, 10 Mbit/s: 2 layers after a
// start-up that ended 1.39x above the link, then 7 in 4 spells over 80 s), and beside a TCP flow
// it did not act at all (fcast-send(1) WEBRC).
// Join timeout [ours]: §3.2.3.7's max(2V/ARTT, 10·ARTT) assumes the joined wave's first packet
// comes about a round trip after the join, but it comes up to one packet gap of that wave later
// (MRTT subtracts half of one), and the lowest wave near the end of its slot sends a few packets a
// second at BCR_P = 1. With ARTT at a 20 ms floor the bound is 200 ms: on loopback (TSD 2 s, QD
// 4 s) 3 of 19 receivers timed out on every join (10-14 in 7 s) and stayed at the base alone. The
// deadline is at least JoinTime + 2 packet gaps of the joined wave at that point of its slot,
// from the schedule the receiver knows (waves.ts; the slot's start from the last base packet's
// PSN mod L, or from the slot change if that came after it).
// Losses are grouped into loss events by when they happened,
// interpolated between the arrivals around the gap (RFC 5348 §5.2 does the same), not by when
// the reorder rules found them: "all subsequent packet loss for a period of ARTT seconds" is read
// as loss that happened within ARTT of the event's first one (§3.2.3.4); LOSS_EVENT, which blocks
// joins, still runs ARTT from when the event was found.
// NWC in the MRTT correction is the value after the join's increment; a join that times
// out also sends a leave for that channel, so the network state matches NWC; packets from channels
// we are not joined to (late after a leave) are counted in `stats.ignored` and not used; ARTT is
// kept >= `minArtt` so the equation and timers stay finite when the join latency measures 0.

import { LossEstimator, RttEstimator, NU, losspForRate, nextLayerRatio, reqn, waveMrtt } from './estimators.js';
import type { WebrcParams } from './params.js';
import { layerSum } from './params.js';
import { WaveProfile, baseTimeOf } from './waves.js';

export interface WebrcPacket {
  readonly cn: number;
  readonly ctsi: number;
  readonly psn: number;
}

export type LeaveSessionReason = 'no-packets' | 'no-slot-change' | 'base-loss';

/**
 * What the shell must do, in order. After `leave-session` (§3.2.3.8 or the base-loss SHOULD) the
 * shell leaves every channel of the session; the receiver does nothing more.
 */
export type ReceiverAction =
  | { readonly kind: 'join'; readonly cn: number }
  | { readonly kind: 'leave'; readonly cn: number }
  | { readonly kind: 'leave-session'; readonly reason: LeaveSessionReason };

export interface ReceiverOptions {
  /** MRR_P: the most this receiver wants, packets/s (e.g. its last link). Default: no cap. */
  readonly mrrP?: number;
  /** Later packets of a channel after which a missing PSN counts as lost (default 3). */
  readonly reorderPackets?: number;
  /** Time after which a missing PSN counts as lost even without later packets (default 100 ms). */
  readonly reorderDelayMs?: number;
  /** Floor for ARTT, seconds (default 1 ms). */
  readonly minArtt?: number;
  /** Time from a join action until its membership report leaves the host, ms (default 0). */
  readonly reportDelayMs?: number;
  /** Called at every decision point with the controller's state (diagnosis; bench/webrc-fairness.ts). */
  readonly trace?: (event: TraceEvent) => void;
}

/** Why start-up ended (§3.2.2.6): a loss, rule (b) join latency, rule (c) max rate, rule (d) lag. */
export type SlowStartExit = 'loss' | 'latency' | 'max-rate' | 'lag';

/** One diagnostic record; `t` in ms, rates in packets/s, times in seconds. */
export type TraceEvent =
  /** `span`: epochs this one covers (more than 1 when the receiver did not run across boundaries). */
  | { readonly kind: 'epoch'; readonly t: number; readonly span: number; readonly nwc: number; readonly rr: number; readonly irr: number; readonly trr: number; readonly arr: number;
      readonly lossp: number; readonly reqn: number; readonly trate: number; readonly ssr: number; readonly artt: number }
  | { readonly kind: 'join'; readonly t: number; readonly cn: number; readonly nwc: number; readonly trate: number; readonly threshold: number }
  | { readonly kind: 'first'; readonly t: number; readonly cn: number; readonly latency: number; readonly mrtt: number; readonly artt: number; readonly v: number;
      /** Start-up rule (b): the RECOMMENDED threshold and the noise margin 4·MDEV in force for this join (s). */
      readonly threshold: number; readonly margin: number }
  | { readonly kind: 'loss-event'; readonly t: number; readonly cn: number; readonly lag: number; readonly ssr: number; readonly trr: number }
  | { readonly kind: 'slow-start-exit'; readonly t: number; readonly rule: SlowStartExit; readonly ssr: number; readonly trr: number; readonly arr: number }
  | { readonly kind: 'rr-block'; readonly t: number; readonly rr: number; readonly rrMax: number; readonly threshold: number }
  | { readonly kind: 'join-timeout'; readonly t: number; readonly cn: number }
  /** The highest layer left because the path delivered less than P·ARR_P (receiver.ts "Overload"). */
  | { readonly kind: 'overload-leave'; readonly t: number; readonly cn: number; readonly rr: number; readonly arr: number; readonly nwc: number }
  /** A packet counted lost (`tail`: found missing when its wave went quiescent). */
  | { readonly kind: 'lost'; readonly t: number; readonly cn: number; readonly psn: number; readonly at: number; readonly tail: boolean }
  /** A packet not used: on a channel not joined (any more), or behind its channel's highest PSN and not missing. */
  | { readonly kind: 'unused'; readonly t: number; readonly cn: number; readonly psn: number };

export interface ReceiverStatus {
  /** Joined wave channels. */
  readonly nwc: number;
  /** TRATE, packets/s (0 before the first base packet). */
  readonly targetRate: number;
  readonly trr: number;
  readonly arr: number;
  readonly lossp: number;
  /** Seconds. */
  readonly artt: number;
  /** True while SSR_P = infinity (start-up). */
  readonly slowStart: boolean;
  readonly ctsi: number | undefined;
  readonly joined: readonly number[];
  readonly closed: boolean;
}

export interface ReceiverStats {
  received: number;
  lost: number;
  lossEvents: number;
  joins: number;
  leaves: number;
  joinTimeouts: number;
  /** Packets on channels we are not joined to, duplicates and stale slot indices. */
  ignored: number;
  staleCtsi: number;
}

/** Per-channel PSN tracking for loss detection. */
interface ChannelTrack {
  readonly modulus: number;
  expected: number | undefined;
  /** Arrival time of the packet with PSN expected − 1 (ms). */
  lastAt: number;
  /**
   * Missing PSN -> later packets seen since, the time it counts as lost, and when it was lost.
   */
  readonly missing: Map<number, { after: number; deadline: number; when: LossTime }>;
}

/**
 * When a packet was lost: at about `at`, interpolated between the arrivals around its gap (as TFRC
 * does, RFC 5348 §5.2), and surely between `from` and `to`, those two arrivals (ms).
 */
interface LossTime {
  readonly at: number;
  readonly from: number;
  readonly to: number;
}

/** Most epochs merged into one when the receiver did not run across their boundaries (see above). */
const MAX_MERGED_EPOCHS = 16;

/** A missing PSN run longer than this is counted lost at once instead of being tracked. */
const MAX_TRACKED_MISSING = 1024;

export class WebrcReceiver {
  readonly stats: ReceiverStats = { received: 0, lost: 0, lossEvents: 0, joins: 0, leaves: 0, joinTimeouts: 0, ignored: 0, staleCtsi: 0 };

  private readonly actions: ReceiverAction[] = [];
  private readonly el: number;
  private readonly ssminr: number;
  private readonly mrr: number;
  private readonly reorderPackets: number;
  private readonly reorderDelayMs: number;
  private readonly minArtt: number;
  private readonly reportDelayMs: number;
  private readonly trace: ((event: TraceEvent) => void) | undefined;
  private readonly loss: LossEstimator;
  private readonly rtt: RttEstimator;
  private readonly tracks = new Map<number, ChannelTrack>();
  /** Waves left at a slot change whose missing tail may still arrive (see drainWaveTail). */
  private readonly draining = new Map<number, ChannelTrack>();
  /** Wave channels joined, in join order (lowest layer first). */
  private readonly joinedWaves: number[] = [];

  private closed = false;
  private baseSeen = false;
  private ctsi: number | undefined;
  private trr = 0;
  private arr = 0;
  private ssr = Infinity;
  private rr = 0;
  private rrMax = 0;
  private recvInEpoch = 0;
  private lostInEpoch = 0;
  /** Every packet of the session read in this epoch, used or not (the overload leave's delivered rate). */
  private arrivedInEpoch = 0;

  private joining = false;
  private joiningCn = -1;
  private joinTime: number;
  private lastWaveLatency: number | undefined;
  /** MDEV: mean deviation of MRTT from ARTT, seconds (start-up rule (b)'s noise margin). */
  private mdev = 0;
  private lastWaveFirstAt: number | undefined;
  /** Start-up rule (d): epochs in a row in which TRR_P lagged ARR_P. */
  private lagEpochs = 0;
  /** Overload leave: epochs in a row that delivered less than P·ARR_P with losses, and their highest RR_P. */
  private overloadEpochs = 0;
  private overloadRr = 0;

  /** LOSS_EVENT (§3.2.3.4): true until this time, ARTT after the event was found. */
  private lossEventUntil: number | undefined;
  /** When recent loss events' first losses happened (estimated, see onLost), oldest first. */
  private readonly lossEventStarts: number[] = [];
  private epochAt: number | undefined;
  /** Epoch boundaries passed while the receiver did not run, folded into the current epoch. */
  private mergedEpochs = 0;
  /** Boundaries before this time (ms) are merged: a stall's length after the receiver resumed. */
  private mergeUntil = -Infinity;
  /** When the shell last handed us a packet or a timeout (ms). */
  private lastRunAt: number;
  private joinDeadline: number | undefined;
  private lastPacketAt: number;
  private lastSlotChangeAt: number;
  /** Estimated start of the current slot, ms (see "Join timeout" above). */
  private slotStartAt: number | undefined;
  private readonly waveProfile: WaveProfile;
  private baseAloneRecv = 0;
  private baseAloneLost = 0;

  /** Starts the session: the first action is the join of the base channel alone (§3.2.1). */
  constructor(
    readonly params: WebrcParams,
    now: number,
    options: ReceiverOptions = {},
  ) {
    const { p, bcr, tsd } = params;
    this.el = tsd / 20;
    this.ssminr = bcr * (1 + 1 / p + 1 / (p * p));
    this.mrr = options.mrrP ?? Infinity;
    this.reorderPackets = options.reorderPackets ?? 3;
    this.reorderDelayMs = options.reorderDelayMs ?? 100;
    this.minArtt = options.minArtt ?? 0.001;
    this.reportDelayMs = options.reportDelayMs ?? 0;
    this.trace = options.trace;
    this.loss = new LossEstimator((NU * this.el) / tsd);
    this.rtt = new RttEstimator(p);
    this.waveProfile = new WaveProfile(params);
    this.joinTime = now + this.reportDelayMs;
    this.joining = true;
    this.joiningCn = params.baseCn;
    this.lastPacketAt = now;
    this.lastRunAt = now;
    this.lastSlotChangeAt = now;
    this.tracks.set(params.baseCn, newTrack(params.basePsnModulus));
    this.actions.push({ kind: 'join', cn: params.baseCn });
  }

  /** Next action for the shell, or undefined. Drain after every onPacket/handleTimeout. */
  poll(): ReceiverAction | undefined {
    return this.actions.shift();
  }

  /** When `handleTimeout` must next be called (ms); undefined once the session is left. */
  nextTimeout(): number | undefined {
    if (this.closed) return undefined;
    let t = Math.min(
      this.lastPacketAt + Math.max(10, this.params.tsd) * 1000,
      this.lastSlotChangeAt + Math.max(20, 2 * this.params.tsd) * 1000,
    );
    for (const at of [this.epochAt, this.joinDeadline, this.lossEventUntil]) if (at !== undefined) t = Math.min(t, at);
    for (const track of this.tracks.values()) for (const m of track.missing.values()) t = Math.min(t, m.deadline);
    for (const track of this.draining.values()) for (const m of track.missing.values()) t = Math.min(t, m.deadline);
    return t;
  }

  /** One packet of the session (its CCI), after the ALC checks. */
  onPacket(now: number, pkt: WebrcPacket): void {
    if (this.closed) return;
    this.noteStall(now);
    // A packet after an epoch boundary belongs to the next epoch, whenever the shell's timer runs
    // (see "Epoch boundaries" above).
    if (this.epochAt !== undefined && now >= this.epochAt) {
      this.handleTimeout(now);
      if (this.closed) return;
    }
    this.arrivedInEpoch++;
    const { baseCn } = this.params;
    const track = this.tracks.get(pkt.cn);
    if (track === undefined) {
      if (this.onDrainingPacket(now, pkt)) return;
      this.stats.ignored++;
      this.trace?.({ kind: 'unused', t: now, cn: pkt.cn, psn: pkt.psn });
      return;
    }
    this.lastPacketAt = now;
    // Until the first base packet the base is the only channel joined, so this is that packet.
    if (!this.baseSeen) {
      this.onFirstBasePacket(now, pkt);
    } else {
      this.onCtsi(now, pkt.ctsi);
      if (!this.tracks.has(pkt.cn)) {
        // The slot change just left this channel: a late packet of the previous slot.
        this.stats.ignored++;
        this.trace?.({ kind: 'unused', t: now, cn: pkt.cn, psn: pkt.psn });
        return;
      }
    }
    if (pkt.cn === baseCn) this.slotStartAt = now - baseTimeOf(this.params, pkt.psn % this.params.l) * 1000;
    if (this.joining && pkt.cn === this.joiningCn && pkt.cn !== baseCn) this.onFirstWavePacket(now);
    this.onPsn(now, pkt.cn, track, pkt.psn);
    this.lastRunAt = now;
  }

  /**
   * [ours] The shell made the pending join at `now`, later than the time it was decided at. A shell
   * that feeds kernel arrival stamps (src/net/webrc-groups.ts) decides at a packet's stamp but
   * reads, and so joins, after it: after an event-loop stall, up to the stall later. JoinTime and
   * the join deadline move to the real join, so MRTT is the path's and not our delay.
   */
  joinMade(now: number): void {
    const at = now + this.reportDelayMs;
    if (!this.joining || at <= this.joinTime) return;
    if (this.joinDeadline !== undefined) this.joinDeadline += at - this.joinTime;
    this.joinTime = at;
  }

  /** Run every timer due at `now`. */
  handleTimeout(now: number): void {
    if (this.closed) return;
    this.noteStall(now);
    if (now >= this.lastPacketAt + Math.max(10, this.params.tsd) * 1000) return this.leaveSession('no-packets');
    if (now >= this.lastSlotChangeAt + Math.max(20, 2 * this.params.tsd) * 1000) return this.leaveSession('no-slot-change');
    if (this.lossEventUntil !== undefined && now >= this.lossEventUntil) this.lossEventUntil = undefined;
    for (const [cn, track] of this.tracks) {
      for (const [psn, m] of track.missing) {
        if (now >= m.deadline) {
          track.missing.delete(psn);
          this.onLost(now, cn, m.when, psn, false);
        }
      }
    }
    for (const [cn, track] of this.draining) {
      for (const [psn, m] of track.missing) {
        if (now >= m.deadline) {
          track.missing.delete(psn);
          this.onLost(now, cn, m.when, psn, true);
        }
      }
      if (track.missing.size === 0) this.draining.delete(cn);
    }
    if (this.closed) return;
    if (this.joinDeadline !== undefined && now >= this.joinDeadline) this.onJoinTimeout(now);
    // Catch up epoch by epoch so the filters see each one (a late call is not one long epoch).
    if (this.epochAt !== undefined && now >= this.epochAt) {
      while (this.epochAt !== undefined && now >= this.epochAt) this.onEpoch(this.epochAt, now, this.epochAt < this.mergeUntil);
    }
    this.lastRunAt = now;
  }

  /**
   * Nothing handed to us for more than max(EL/4, 4 packet gaps at RR_P): the shell was stalled
   * and reads a backlog now, for up to as long again ("Epochs the receiver did not see end").
   */
  private noteStall(now: number): void {
    const gap = now - this.lastRunAt;
    if (gap > Math.max(this.el * 250, 4000 / this.rr)) this.mergeUntil = Math.max(this.mergeUntil, now + gap);
  }

  status(): ReceiverStatus {
    return {
      nwc: this.joinedWaves.length,
      targetRate: this.baseSeen ? this.targetRate() : 0,
      trr: this.trr,
      arr: this.arr,
      lossp: this.loss.lossp,
      artt: this.rtt.artt,
      slowStart: this.ssr === Infinity,
      ctsi: this.ctsi,
      joined: [...this.joinedWaves],
      closed: this.closed,
    };
  }

  // --- packet events ---------------------------------------------------------------------------

  /** §3.2.2.2 (ARTT from the base join), §3.2.2.5 (TRR_P = ARR_P = BCR_P + k·ln(P)/TSD). */
  private onFirstBasePacket(now: number, pkt: WebrcPacket): void {
    const { p, bcr, tsd, l } = this.params;
    this.baseSeen = true;
    this.joining = false;
    this.rtt.initFromBase(Math.max(this.minArtt, (now - this.joinTime) / 1000));
    this.mdev = this.rtt.artt / 2;
    const k = pkt.psn % l;
    this.trr = bcr + (k * Math.log(p)) / tsd;
    this.arr = this.trr;
    this.ctsi = pkt.ctsi;
    this.lastSlotChangeAt = now;
    this.epochAt = now + this.el * 1000;
  }

  /** §3.2.3.2: the first packet of the most recent join measures MRTT; start-up exit (b). */
  private onFirstWavePacket(now: number): void {
    const { p, bcr } = this.params;
    const nwc = this.joinedWaves.length;
    const latency = (now - this.joinTime) / 1000;
    this.joining = false;
    this.joinDeadline = undefined;
    this.lastWaveFirstAt = now;
    // [ours] Read during a stall or its backlog, the packet came at some unknown time before now:
    // the join is not timed (no MRTT sample, no rule (b) check; "Epochs the receiver..." above).
    if (now < this.mergeUntil) return;
    const mrtt = waveMrtt(latency, p, bcr, nwc);
    const deviation = Math.abs(mrtt - this.rtt.artt);
    this.rtt.update(mrtt);
    this.rtt.artt = Math.max(this.minArtt, this.rtt.artt);
    const threshold = (Math.pow(p, nwc + 1) - 1) / (p * Math.log(p)) / this.arr;
    const margin = 4 * this.mdev;
    this.trace?.({ kind: 'first', t: now, cn: this.joiningCn, latency, mrtt, artt: this.rtt.artt, v: this.rtt.v, threshold, margin });
    if (this.ssr === Infinity && this.lastWaveLatency !== undefined && latency - this.lastWaveLatency > Math.max(threshold, margin)) {
      this.exitSlowStart(now, 'latency', Math.max(this.ssminr, p * this.trr));
    }
    this.lastWaveLatency = latency;
    this.mdev += (deviation - this.mdev) / 4;
  }

  /** §3.2.3.3: a new CTSI means the lowest layer went quiescent; reordered old CTSIs are ignored. */
  private onCtsi(now: number, ctsi: number): void {
    const { t, q } = this.params;
    const current = this.ctsi ?? ctsi;
    const d = (((ctsi - current) % t) + t) % t;
    if (d === 0) return;
    // Stale: RFC 3738's example bound d > T − Q/2, and always a packet of the previous slot
    // (d = T − 1): with Q ≤ 2 (QD ≤ 2·TSD) the bound is never met, and such a packet read as
    // T − 1 slot changes (every joined wave's unsent tail counted lost: 15,413 in one run).
    if (d > t - q / 2 || d === t - 1) {
      this.stats.staleCtsi++;
      return;
    }
    for (let step = 1; step <= d; step++) this.onSlotChange(now, (current + step) % t);
    this.lastSlotChangeAt = now;
    this.slotStartAt = now;
  }

  private onSlotChange(now: number, ctsi: number): void {
    const { p, bcr, t } = this.params;
    this.ctsi = ctsi;
    const quiescent = (ctsi - 1 + t) % t;
    // The base channel restarts at BCR_P: +(1−P)·BCR_P; the quiescent layer (rate BCR_P) goes.
    this.arr += (1 - p) * bcr;
    const i = this.joinedWaves.indexOf(quiescent);
    if (i >= 0) {
      this.arr = Math.max(0, this.arr - bcr);
      this.drainWaveTail(now, quiescent);
      this.leaveWave(i);
      if (this.joining && this.joiningCn === quiescent) {
        this.joining = false;
        this.joinDeadline = undefined;
      }
    }
  }

  /** Loss detection from per-channel PSN gaps (§3.2.3.4), tolerant of simple reordering. */
  private onPsn(now: number, cn: number, track: ChannelTrack, psn: number): void {
    if (track.expected === undefined) {
      track.expected = (psn + 1) % track.modulus;
      track.lastAt = now;
      this.onReceived(cn);
      return;
    }
    const d = (psn - track.expected + track.modulus) % track.modulus;
    if (d >= track.modulus / 2) {
      // Behind the highest PSN seen: a late packet fills its hole, anything else is a duplicate.
      if (track.missing.delete(psn)) this.onReceived(cn);
      else {
        this.stats.ignored++;
        this.trace?.({ kind: 'unused', t: now, cn, psn });
      }
      return;
    }
    let skipped = d;
    if (skipped > MAX_TRACKED_MISSING) {
      const when = { at: track.lastAt, from: track.lastAt, to: now };
      for (; skipped > MAX_TRACKED_MISSING; skipped--) this.onLost(now, cn, when, (psn - skipped + track.modulus) % track.modulus, false);
    }
    for (const m of track.missing.values()) m.after++;
    // The packets of the gap were due at even steps between the two arrivals around it.
    const step = (now - track.lastAt) / (skipped + 1);
    for (let i = skipped; i >= 1; i--) {
      const when = { at: now - i * step, from: track.lastAt, to: now };
      track.missing.set((psn - i + track.modulus) % track.modulus, { after: 1, deadline: now + this.reorderDelayMs, when });
    }
    track.expected = (psn + 1) % track.modulus;
    track.lastAt = now;
    this.onReceived(cn);
    for (const [missingPsn, m] of track.missing) {
      if (m.after >= this.reorderPackets) {
        track.missing.delete(missingPsn);
        this.onLost(now, cn, m.when, missingPsn, false);
      }
    }
  }

  /**
   * A wave's last packet carries PSN 2^16 − 1 (§3.1.2), so when it goes quiescent every PSN after
   * the highest one seen, and every hole still waiting for a reordered packet, is missing. [ours]
   * They count as lost only after the reorder delay: each channel has its own socket, so the
   * wave's last packets can be read after the first packet of the next slot on another channel
   * (loopback at 1 Gbit/s: PSN 65535 of the quiescent wave read 0.4-0.7 ms after the slot change,
   * counted lost, ended start-up at 0.6 s at 5% of the rate). Until then the wave is `draining`.
   */
  private drainWaveTail(now: number, cn: number): void {
    const track = this.tracks.get(cn);
    if (track === undefined || track.expected === undefined) return;
    const tail = (track.modulus - track.expected) % track.modulus;
    // The tail was due between the last arrival and the slot's end (now).
    for (let i = 1; i <= tail; i++) {
      const when = { at: track.lastAt + (i * (now - track.lastAt)) / (tail + 1), from: track.lastAt, to: now };
      const psn = (track.expected + i - 1) % track.modulus;
      if (i > MAX_TRACKED_MISSING) this.onLost(now, cn, when, psn, true);
      else track.missing.set(psn, { after: 0, deadline: now + this.reorderDelayMs, when });
    }
    if (track.missing.size > 0) this.draining.set(cn, track);
  }

  /** A late packet of a wave that went quiescent: it fills its hole. False if it is none of those. */
  private onDrainingPacket(now: number, pkt: WebrcPacket): boolean {
    const track = this.draining.get(pkt.cn);
    if (track === undefined || !track.missing.delete(pkt.psn)) return false;
    if (track.missing.size === 0) this.draining.delete(pkt.cn);
    this.lastPacketAt = this.lastRunAt = now;
    this.onReceived(pkt.cn);
    return true;
  }

  private onReceived(cn: number): void {
    this.stats.received++;
    this.recvInEpoch++;
    this.loss.onPacketEvent();
    if (cn === this.params.baseCn) this.countBaseAlone(false);
  }

  /**
   * A packet counted lost at `now`, lost at `when`: it starts a loss event unless it may have been
   * lost within ARTT of a recent event's first loss (§3.2.3.4, §3.2.2.1).
   *
   * [ours] Losses are grouped by when they happened, not by when they were found: a gap on a slow
   * channel (a low layer carries a few packets a second) is found up to the reorder delay later
   * than a gap of the same queue overflow on a fast one. Grouping by detection time split one
   * overflow into two or three events (measured: bench/webrc-fairness.ts). And a loss belongs to
   * an event when any moment between the arrivals around its gap is within ARTT of the event's
   * start, not only the interpolated one: on a layer carrying 5-20 packets/s that gap spans 50 to
   * 200 ms, more than ARTT, and the midpoint alone split one overflow into events 100-180 ms apart
   * (fairness traces: a loss found 279 ms after it happened counted as a second event 100 ms
   * before the first).
   */
  private onLost(now: number, cn: number, when: LossTime, psn: number, tail: boolean): void {
    if (this.closed) return;
    this.stats.lost++;
    this.trace?.({ kind: 'lost', t: now, cn, psn, at: when.at, tail });
    this.lostInEpoch++;
    const arttMs = this.rtt.artt * 1000;
    const starts = this.lossEventStarts;
    // Forget events that no loss still to be found can belong to (losses are found within the
    // reorder delay, or at the latest when their wave goes quiescent one slot later).
    while (starts.length > 0 && starts[0]! < now - 2 * this.params.tsd * 1000 - arttMs) starts.shift();
    const same = starts.findIndex((start) => when.from - arttMs < start && start < when.to + arttMs);
    if (same >= 0) {
      if (Math.abs(when.at - starts[same]!) < arttMs) starts[same] = Math.min(starts[same]!, when.at);
    } else {
      this.startLossEvent(now, when.at);
      this.stats.lossEvents++;
      this.loss.onLossEventStart();
      const ssr = Math.max(this.ssminr, this.params.p * this.trr);
      this.trace?.({ kind: 'loss-event', t: now, cn, lag: now - when.at, ssr, trr: this.trr });
      if (this.ssr === Infinity) this.exitSlowStart(now, 'loss', ssr);
      else this.ssr = ssr;
    }
    this.loss.onPacketEvent();
    if (cn === this.params.baseCn) this.countBaseAlone(true);
  }

  /** A loss event that began at `at` (ms): LOSS_EVENT for ARTT from now, and losses near `at` join it. */
  private startLossEvent(now: number, at: number): void {
    const starts = this.lossEventStarts;
    starts.push(at);
    starts.sort((a, b) => a - b);
    this.lossEventUntil = now + this.rtt.artt * 1000;
  }

  /** SHOULD of §3.2.1: leave when the base channel alone keeps losing most of its packets. */
  private countBaseAlone(lost: boolean): void {
    if (this.joinedWaves.length > 0) {
      this.baseAloneLost = this.baseAloneRecv = 0;
      return;
    }
    if (lost) this.baseAloneLost++;
    else this.baseAloneRecv++;
    const total = this.baseAloneLost + this.baseAloneRecv;
    if (total < 2 * this.params.l) return;
    const fraction = this.baseAloneLost / total;
    this.baseAloneLost = this.baseAloneRecv = 0;
    if (fraction >= 0.5) this.leaveSession('base-loss');
  }

  // --- timers ----------------------------------------------------------------------------------

  /** §3.2.3.7: no first packet in time: undo the join. */
  private onJoinTimeout(now: number): void {
    this.joinDeadline = undefined;
    if (!this.joining) return;
    const { p } = this.params;
    this.joining = false;
    this.stats.joinTimeouts++;
    this.trace?.({ kind: 'join-timeout', t: now, cn: this.joiningCn });
    const nwc = this.joinedWaves.length;
    this.arr *= (Math.pow(1 / p, nwc) - 1) / (Math.pow(1 / p, nwc + 1) - 1);
    const i = this.joinedWaves.indexOf(this.joiningCn);
    if (i >= 0) this.leaveWave(i);
  }

  /**
   * §3.2.3.5: update the rates and the loss filter, then maybe join (§3.2.3.6). `at` is the epoch's
   * boundary, `now` the time we run: a join goes out now, so JoinTime is `now` (taking `at` made
   * every MRTT longer by the timer's lateness: up to 10 ms of tick, more on a busy machine).
   * `unseen`: the receiver did not run across this boundary, or is still reading the backlog of a
   * stall, so the epoch is merged with the next ("Epochs the receiver did not see end" above).
   */
  private onEpoch(at: number, now: number, unseen: boolean): void {
    const { p, tsd, srP } = this.params;
    const el = this.el;
    this.epochAt = at + el * 1000;
    if (unseen && this.mergedEpochs < MAX_MERGED_EPOCHS) {
      this.mergedEpochs++;
      return;
    }
    const span = this.mergedEpochs + 1;
    this.mergedEpochs = 0;
    this.rr = this.recvInEpoch / (span * el);
    const irr = (this.recvInEpoch + this.lostInEpoch) / (span * el);
    const delivered = this.arrivedInEpoch / (span * el);
    const lossy = this.lostInEpoch > 0;
    this.recvInEpoch = this.lostInEpoch = this.arrivedInEpoch = 0;
    const startup = this.ssr === Infinity;
    const beta = startup ? (1 - Math.pow(p, 0.25)) / 2 : 1 - Math.pow(p / (1 + p), el / tsd);
    const zeta = startup ? Math.sqrt(p) / (1 + Math.sqrt(p)) : (2 * el) / (4 + tsd);
    const nwc = this.joinedWaves.length;
    for (let i = 0; i < span; i++) {
      this.loss.onEpochEnd();
      this.trr = (1 - zeta) * this.trr + zeta * this.rr;
      this.arr = Math.min(Math.pow(p, el / tsd) * (1 - beta) * this.arr + beta * irr, this.params.bcr * layerSum(p, nwc));
    }
    this.rrMax = Math.max(this.rrMax, this.rr);
    // Rule (d) [ours]: did the receiver get less than the sender sent on the joined channels?
    const short = lossy || this.gapsOpen();
    if (!startup) this.checkOverload(now, lossy, delivered);
    // Start-up exit (c): the next layer would pass MRR_P or SR_P.
    if (startup && this.nextLayerRatio() * this.arr > Math.min(this.mrr, srP)) {
      this.exitSlowStart(at, 'max-rate', Math.max(this.ssminr, this.trr));
    }
    if (this.trace !== undefined) {
      const { lossp, artt } = { lossp: this.loss.lossp, artt: this.rtt.artt };
      this.trace({ kind: 'epoch', t: at, span, nwc: this.joinedWaves.length, rr: this.rr, irr, trr: this.trr, arr: this.arr,
        lossp, reqn: reqn(artt, lossp), trate: this.targetRate(), ssr: this.ssr, artt });
    }
    this.maybeJoin(now, short);
  }

  /** A PSN gap on a channel still waiting for its packets (reordered, or lost but not yet counted). */
  private gapsOpen(): boolean {
    for (const track of this.tracks.values()) if (track.missing.size > 0) return true;
    return this.draining.size > 0;
  }

  /**
   * [ours] Overload leave (see "Overload" above): after start-up, when an epoch with losses
   * delivered less than P·ARR_P, two in a row, leave the highest joined layer, one per epoch while
   * it lasts; ARR_P drops by that layer's share at once, so the leaves stop when what the receiver
   * is joined to is within one layer of what the path delivers, whatever the leave latency. TRR_P
   * (and SSR_P) are brought down to what the path delivered, so the join rule does not re-join
   * what the old rate allowed.
   */
  private checkOverload(now: number, lossy: boolean, delivered: number): void {
    const { p } = this.params;
    const nwc = this.joinedWaves.length;
    if (nwc === 0 || !lossy || delivered >= p * this.arr) {
      this.overloadEpochs = 0;
      this.overloadRr = 0;
      return;
    }
    this.overloadRr = Math.max(this.overloadRr, delivered);
    if (++this.overloadEpochs < 2) return;
    this.trace?.({ kind: 'overload-leave', t: now, cn: this.joinedWaves[nwc - 1]!, rr: delivered, arr: this.arr, nwc: nwc - 1 });
    this.arr *= (Math.pow(1 / p, nwc) - 1) / (Math.pow(1 / p, nwc + 1) - 1);
    if (this.joining && this.joiningCn === this.joinedWaves[nwc - 1]) {
      this.joining = false;
      this.joinDeadline = undefined;
    }
    this.leaveWave(nwc - 1);
    this.trr = Math.min(this.trr, this.overloadRr);
    this.ssr = Math.min(this.ssr, Math.max(this.ssminr, p * this.trr));
    if (reqn(this.rtt.artt, this.loss.lossp) > this.trr) this.loss.rescale(losspForRate(this.rtt.artt, this.trr));
  }

  /**
   * The join rule (§3.2.3.6), with start-up rule (d) and the RR_P check. `short`: the epoch just
   * ended had a PSN gap (counted lost, or still open), so the receiver got less than the sender
   * sent; without one its lag is the sender's (see "Rule (d)" above).
   */
  private maybeJoin(now: number, short: boolean): void {
    const { p, n, srP, constantRate } = this.params;
    if (!this.baseSeen || this.lossEventUntil !== undefined || this.joining) return;
    const nwc = this.joinedWaves.length;
    if (nwc >= n) return;
    if (this.ssr === Infinity && this.lastWaveFirstAt !== undefined && nwc >= 1) {
      if (now - this.lastWaveFirstAt < this.el * 1000) return;
      if (this.trr < this.startupLagFactor(nwc) * this.arr - 2 / this.el) {
        // [ours] Two epochs in a row that were short of what the sender sent (see "Rule (d)"
        // above); a lagging epoch holds the join in any case.
        if (short && ++this.lagEpochs >= 2) this.exitSlowStart(now, 'lag', Math.max(this.ssminr, this.trr));
        return;
      }
      this.lagEpochs = 0;
    }
    const trate = this.targetRate();
    const threshold = this.arr * this.nextLayerRatio();
    const belowSender = !constantRate || trate < srP;
    if (trate < threshold && belowSender) return;
    if (this.ssr !== Infinity && belowSender && this.rr > Math.max(this.rrMax - 2 / this.el, p * this.rrMax)) {
      this.trace?.({ kind: 'rr-block', t: now, rr: this.rr, rrMax: this.rrMax, threshold });
      this.loss.rescale(losspForRate(this.rtt.artt, threshold));
      return;
    }
    this.trace?.({ kind: 'join', t: now, cn: ((this.ctsi ?? 0) + nwc) % this.params.t, nwc: nwc + 1, trate, threshold });
    this.joinNext(now);
  }

  private joinNext(now: number): void {
    const { p, t } = this.params;
    const cn = ((this.ctsi ?? 0) + this.joinedWaves.length) % t;
    this.joinedWaves.push(cn);
    this.tracks.set(cn, newTrack(0x10000));
    const nwc = this.joinedWaves.length;
    this.arr *= (Math.pow(1 / p, nwc + 1) - 1) / (Math.pow(1 / p, nwc) - 1);
    this.joining = true;
    this.joiningCn = cn;
    this.joinTime = now + this.reportDelayMs;
    const artt = this.rtt.artt;
    const rfcBound = now + Math.max((2 * this.rtt.v) / artt, 10 * artt) * 1000;
    this.joinDeadline = Math.max(rfcBound, this.joinTime + (2 / this.joinedWaveRate(now, nwc)) * 1000);
    this.rrMax = 0;
    this.stats.joins++;
    this.actions.push({ kind: 'join', cn });
  }

  private leaveWave(index: number): void {
    const [cn] = this.joinedWaves.splice(index, 1);
    this.tracks.delete(cn);
    this.stats.leaves++;
    this.actions.push({ kind: 'leave', cn });
  }

  private leaveSession(reason: LeaveSessionReason): void {
    if (this.closed) return;
    this.closed = true;
    this.actions.push({ kind: 'leave-session', reason });
  }

  /** §3.2.2.6: end start-up with SSR_P = ssr and reset LOSSP so that REQN equals TRR_P. */
  private exitSlowStart(now: number, rule: SlowStartExit, ssr: number): void {
    this.trace?.({ kind: 'slow-start-exit', t: now, rule, ssr, trr: this.trr, arr: this.arr });
    this.ssr = ssr;
    this.loss.reset(losspForRate(this.rtt.artt, this.trr));
    // [ours] A rise in join latency (b) or a lagging TRR_P (d) is the queue overflowing: the
    // losses of that overflow, found up to the reorder delay later, are the event this exit is.
    if (rule === 'latency' || rule === 'lag') this.startLossEvent(now, now);
  }

  // --- formulas --------------------------------------------------------------------------------

  /** TRATE (§3.2.2.7). */
  private targetRate(): number {
    if (this.ssr === Infinity) return Math.min(4 * this.trr, this.mrr);
    return Math.min(Math.max(this.ssr, reqn(this.rtt.artt, this.loss.lossp)), this.mrr);
  }

  /**
   * Packets/s of the wave at `layer` (1 = ending in this slot) at `now`, from the schedule
   * (waves.ts): wave-relative time (N − layer)·TSD + the time into the slot.
   */
  private joinedWaveRate(now: number, layer: number): number {
    const { n, tsd } = this.params;
    const intoSlot = this.slotStartAt === undefined ? 0 : Math.min(tsd, Math.max(0, (now - this.slotStartAt) / 1000));
    return this.waveProfile.rateAt((n - layer) * tsd + intoSlot);
  }

  private nextLayerRatio(): number {
    return nextLayerRatio(this.params.p, this.joinedWaves.length);
  }

  /** c of start-up rule (d): how far TRR_P may trail ARR_P one epoch after a join. */
  private startupLagFactor(nwc: number): number {
    const { p, tsd } = this.params;
    const zeta = Math.sqrt(p) / (1 + Math.sqrt(p));
    const grow = Math.pow(p, -this.el / tsd);
    const g = (Math.pow(p, -nwc - 1) - 1) / (Math.pow(p, -nwc) - 1);
    return zeta + ((1 - zeta) * grow * (zeta + (1 - zeta) * Math.sqrt(p) * grow)) / g;
  }
}

function newTrack(modulus: number): ChannelTrack {
  return { modulus, expected: undefined, lastAt: 0, missing: new Map() };
}

// `fcast send PATH... --to GROUP:PORT`: put files and directory trees on a multicast FCAST/ALC
// session (RFC 6968 over RFC 5775). Thin: parse and check flags, scan and hash the sources, write
// or serve the session description, run the send loop (src/net/send-session.ts), report.
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { Args, Flags } from '@oclif/core';
import { Listr } from 'listr2';
import { schemeFor } from '../../codecs/index.js';
import type { FecEncodingId } from '../../codecs/types.js';
import { checkFecSettings, contentTypeFor, type CarouselFile, type FecSettings } from '../carousel/index.js';
import { FcastCommand } from '../cli/base.js';
import { defaultRateControl, webrcFlags, webrcInput, webrcParams } from '../cli/webrc-flags.js';
import { flexicastFlags, noFlexicast, startFlexicast } from '../cli/flex-send.js';
import type { FlexSenderStats, LingerEnd } from '../net/flex-sender.js';
import { webrcChannels } from '../carousel/channels.js';
import { fromSessionParams, toSessionParams, type WebrcParams } from '../rate/index.js';
import { parseDuration, parseGroupPort } from '../cli/receive-target.js';
import { IP_UDP_BYTES, chooseSymbolSize, outgoingMtu } from '../cli/path-mtu.js';
import { FLOW_OVERHEAD } from '../flexicast/index.js';
import { LocalProtocolError } from '../errors.js';
import { parseHostPort, serveAnnounce, type AnnounceServer } from '../net/announce.js';
import { sendSession, type SendEnd, type SendOptions, type SendProgress, type SendRunResult } from '../net/send-session.js';
import { sendPathInUse } from '../net/batch-send.js';
import { writeAtomic } from '../store/atomic-file.js';
import { hashFile, scanSources, type SourceFile } from '../store/source-tree.js';
import { alcHeaderSize, encodeContentLocation, encodeSdp, encodeSessionJson, type SessionDescription, type SessionFec } from '../wire/index.js';

/** Defaults (man/fcast-send.1 states how they were chosen). */
const DEFAULTS = {
  symbolSize: 1400,
  blockLength: 1000,
  codeRate: '2/3',
  n1: 5,
  rate: '100M',
  ttl: 1,
  cycles: 2,
} as const;

export interface SendResult {
  readonly status: 'closed' | 'aborted';
  /** Why the carousel stopped: its cycles (push) or time (on-demand) ran out, the expected receivers were done (--expect-receivers), or a signal. */
  readonly ended: SendEnd;
  readonly session: SessionDescription;
  readonly sdp: string;
  readonly sessionFile: string | undefined;
  readonly announce: { readonly sdp: string; readonly json: string } | undefined;
  readonly objects: number;
  /** Bytes of file content sent per cycle (headers and FEC excluded). */
  readonly bytes: number;
  readonly packets: number;
  /** Bytes of ALC datagrams sent (headers, repair and repeats included). */
  readonly datagramBytes: number;
  readonly cycles: number;
  readonly achievedBitsPerSecond: number;
  readonly durationSeconds: number;
  readonly windowBlocks: number;
  readonly skipped: readonly string[];
  readonly sendBufferSize: number;
  /** How the datagrams went out: native sendmmsg batches with UDP GSO runs, without, or node:dgram (IPv6, no addon, FCAST_SEND_PATH=dgram). */
  readonly sendPath: 'sendmmsg+GSO' | 'sendmmsg' | 'dgram';
  /** Bytes per encoding symbol used (--symbol-size, or the default lowered to fit the MTU). */
  readonly symbolSize: number;
  /** The outgoing interface, its MTU and the largest symbol that fits it (absent when unknown). */
  readonly pathMtu?: { readonly iface: string; readonly mtu: number; readonly largestSymbol: number };
  /** --flexicast: receivers, their paths and unicast bytes, and how the linger ended. */
  readonly flexicast?: FlexSenderStats & { readonly linger: LingerEnd | 'none' };
}

/** 100M, 1.5G, 800k, 2e8 or a plain number: bits per second. */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([kKmMgG]?)(?:bit\/s|bps|b)?$/.exec(text.trim());
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[(m?.[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
  const v = m === null ? NaN : Number(m[1]) * mult;
  if (!Number.isFinite(v) || v < 8000 || v > 100e9) throw new LocalProtocolError('USAGE', `--rate "${text}": expected bits/s such as 50M or 1G (8k..100G)`);
  return Math.round(v);
}

/** "2/3" or 0.667: a code rate in (0, 1]. */
export function parseCodeRate(text: string): number {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const v = m !== null ? Number(m[1]) / Number(m[2]) : Number(text);
  if (!(v > 0 && v <= 1)) throw new LocalProtocolError('USAGE', `--code-rate "${text}": expected k/n such as 2/3, in (0, 1]`);
  return v;
}

/** ISO 8601 date-time, or HH:MM (the next such local time). Returns ms from now. */
export function untilMs(text: string, nowMs: number): number {
  const hm = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  let at: number;
  if (hm !== null) {
    const [h, m] = [Number(hm[1]), Number(hm[2])];
    // Date#setHours would roll 25:99 over into tomorrow 02:39 and start a session nobody asked for.
    if (h > 23 || m > 59) throw new LocalProtocolError('USAGE', `--until "${text}": HH:MM needs hours 0-23 and minutes 0-59`);
    const d = new Date(nowMs);
    d.setHours(h, m, 0, 0);
    // Tomorrow by the calendar, not +24 h, so a daylight-saving change keeps the wall-clock time.
    if (d.getTime() <= nowMs) d.setDate(d.getDate() + 1);
    d.setHours(h, m, 0, 0);
    at = d.getTime();
  } else {
    at = Date.parse(text);
  }
  if (!Number.isFinite(at) || at <= nowMs) throw new LocalProtocolError('USAGE', `--until "${text}": expected a future time (ISO 8601 or HH:MM)`);
  return at - nowMs;
}

export default class Send extends FcastCommand<SendResult> {
  static override summary = 'Send files and directory trees to a multicast group (FCAST/ALC carousel).';
  static override description = `Every file becomes an FCAST compound object (metadata: Content-Location relative to the argument, Content-Length, Content-Type, SHA-256, mtime, mode) protected by LDPC-Staircase FEC and sent on the ALC session at a paced rate.

push mode (default) sends every object's symbols --cycles times (the first cycle all source symbols, then all repair symbols) and closes; on-demand mode cycles the carousel for --duration or until --until so that receivers may join at any time, by default with WEBRC layered rate control when the session publishes its description (--session-file or --announce; RFC 3738: each receiver takes as many layers as its path carries; --rate-control fixed for one channel at --rate).

The session description (SDP and JSON) is written with --session-file, served over HTTP with --announce, and printed with --json.`;
  static override examples = [
    '<%= config.bin %> send ./release --to 239.255.1.2:4000 --iface 10.0.0.1 --rate 500M',
    '<%= config.bin %> send image.qcow2 --to 239.255.1.2:4000 --mode on-demand --duration 2h --announce 0.0.0.0:8080',
    '<%= config.bin %> send ./pkgs --to [ff3e::4321]:4000 --source 2001:db8::1 --iface eth0 --session-file nightly.sdp',
  ];
  static override strict = false;
  static override args = {
    path: Args.string({ description: 'Files or directories to send (directories recursively).', required: true }),
  };
  static override flags = {
    to: Flags.string({ description: 'Multicast GROUP:PORT ([V6]:PORT for IPv6).', required: true }),
    iface: Flags.string({ description: 'Outgoing interface: a local IPv4 address or an interface name (IPv6: a name).' }),
    ttl: Flags.integer({ description: 'Multicast TTL / hop limit (0 = this host only).', default: DEFAULTS.ttl, min: 0, max: 255 }),
    source: Flags.string({ description: 'Send from this local address and announce it for source-specific (SSM) joins.' }),
    mode: Flags.string({ description: 'push: N cycles then close; on-demand: cycle until the end time.', options: ['push', 'on-demand'], default: 'push' }),
    cycles: Flags.integer({ description: 'push: times every encoding symbol is sent.', default: DEFAULTS.cycles, min: 1 }),
    duration: Flags.string({ description: 'on-demand: how long to stay on the air (e.g. 90s, 30m, 2h).', exclusive: ['until'] }),
    until: Flags.string({ description: 'on-demand: stop at this time (ISO 8601, or HH:MM local).', exclusive: ['duration'] }),
    fec: Flags.string({ description: 'FEC scheme.', options: ['ldpc', 'nocode'], default: 'ldpc' }),
    'code-rate': Flags.string({ description: 'k/n: LDPC sends n = k/R symbols per block; No-Code repeats each symbol ceil(1/R) times (default 2/3 for ldpc, 1 for nocode).' }),
    n1: Flags.integer({ description: 'LDPC N1: ones per source column (3..10).', default: DEFAULTS.n1, min: 3, max: 10 }),
    'symbol-size': Flags.integer({ description: `Bytes per encoding symbol, one symbol per packet (default ${DEFAULTS.symbolSize}, lowered to fit the outgoing interface's MTU; a larger value than fits is refused).`, min: 16, max: 65_000 }),
    'allow-fragments': Flags.boolean({ description: 'Accept a --symbol-size whose packets exceed the outgoing interface MTU (IP fragments; reassembly may fail under load).', default: false }),
    'block-length': Flags.integer({ description: 'Source symbols per block at most (B).', default: DEFAULTS.blockLength, min: 1 }),
    rate: Flags.string({ description: 'Sending rate in bits/s counting IP/UDP/ALC headers (k, M, G suffixes); with webrc the aggregate (top) rate.', default: DEFAULTS.rate }),
    tsi: Flags.integer({ description: 'Transport Session Identifier (default random).', min: 1, max: 0xffff_ffff }),
    name: Flags.string({ description: 'Session name for the announce URL (default fcast-<tsi in hex>).' }),
    'session-file': Flags.string({ description: 'Write the session description here (.json = JSON, else SDP).' }),
    announce: Flags.string({ description: 'Serve the description over HTTP at HOST:PORT under /.well-known/fcast/<name>.sdp and .json.' }),
    'expect-receivers': Flags.integer({
      description: 'push with --flexicast: close the session as soon as this many flexicast receivers have reported every file complete, before the rest of the cycles (receivers without the flexicast channel cannot report and are not waited for).',
      min: 1,
    }),
    ...webrcFlags,
    ...flexicastFlags,
  };

  async run(): Promise<SendResult> {
    const { argv, flags } = await this.parse(Send);
    const paths = argv as string[];
    const to = parseGroupPort(flags.to);
    if (to === undefined) throw new LocalProtocolError('USAGE', `--to "${flags.to}": expected GROUP:PORT or [V6]:PORT`);
    const family = isIP(to.group) as 4 | 6;
    const mode = flags.mode as 'push' | 'on-demand';
    let deadlineMs: number | undefined;
    if (mode === 'on-demand') {
      if (flags.duration === undefined && flags.until === undefined) throw new LocalProtocolError('USAGE', 'on-demand mode needs --duration or --until');
      deadlineMs = flags.duration !== undefined ? parseDuration(flags.duration) : untilMs(flags.until!, Date.now());
    } else if (flags.duration !== undefined || flags.until !== undefined) {
      throw new LocalProtocolError('USAGE', '--duration and --until apply to --mode on-demand');
    }
    const encodingId: FecEncodingId = flags.fec === 'nocode' ? 0 : 3;
    const pathMtu = outgoingMtu(to.group, flags.iface);
    const size = chooseSymbolSize({
      requested: flags['symbol-size'],
      defaultSize: DEFAULTS.symbolSize,
      overhead: IP_UDP_BYTES[family] + maxAlcHeader(mode) + (flags.flexicast === undefined ? 0 : FLOW_OVERHEAD),
      path: pathMtu,
      allowFragments: flags['allow-fragments'],
      family,
    });
    if (size.capped && !this.jsonEnabled()) this.warn(`--symbol-size ${size.symbolSize}: the default ${DEFAULTS.symbolSize} does not fit the MTU ${pathMtu!.mtu} of ${pathMtu!.iface}`);
    const fec: FecSettings = {
      encodingId,
      symbolSize: size.symbolSize,
      maxSourceBlockLength: flags['block-length'],
      codeRate: parseCodeRate(flags['code-rate'] ?? (encodingId === 3 ? DEFAULTS.codeRate : '1')),
      n1m3: flags.n1 - 3,
    };
    checkFecSettings(fec);
    const bitsPerSecond = parseRate(flags.rate);
    const expected = flags['expect-receivers'];
    if (expected !== undefined && (flags.flexicast === undefined || mode !== 'push')) {
      throw new LocalProtocolError('USAGE', '--expect-receivers needs --mode push and --flexicast HOST:PORT (only flexicast receivers report completion)');
    }
    const tsi = flags.tsi ?? randomInt(1, 0xffff_ffff);
    const tree = await scanSources(paths);
    // The digests are computed off the main thread (src/store/sha256-pool.ts) while the rest of
    // start-up runs: only the core needs them (the FCAST headers), once the socket is open. A
    // signal meanwhile aborts them (sendSession then ends at once, nothing sent).
    const abort = new AbortController();
    const files = this.describeFiles(tree.files, abort.signal);
    const startUnix = Math.floor(Date.now() / 1000);
    const published = flags['session-file'] !== undefined || flags.announce !== undefined;
    const rateControl = flags['rate-control'] ?? defaultRateControl(mode, flags.flexicast !== undefined, published);
    const webrc = rateControl === 'webrc' ? webrcInput(flags, bitsPerSecond) : undefined;
    let session = this.describeSession({ tsi, name: flags.name, family, to, flags, fec, mode, bitsPerSecond, startUnix, deadlineMs, webrc });
    const core = files.then((f) => ({ tsi, files: f, fec, schemes: schemeFor, mode, cycles: flags.cycles, seed: tsi }));
    core.catch(() => undefined); // a failed digest is raised where the core is awaited
    const flexicast = flags.flexicast === undefined ? noFlexicast(flags) : await startFlexicast(flags, session, await core, tree.files.map((f) => f.path), parseRate);
    if (flexicast !== undefined) session = { ...session, ...flexicast.fields };

    if (flags['session-file'] !== undefined) {
      const asJson = flags['session-file'].toLowerCase().endsWith('.json');
      // Atomically: receivers and scripts may be polling for this file while the sender starts.
      writeAtomic(flags['session-file'], [Buffer.from(asJson ? encodeSessionJson(session) : encodeSdp(session))]);
    }
    let announce: AnnounceServer | undefined;
    if (flags.announce !== undefined) {
      const hp = parseHostPort(flags.announce);
      announce = await serveAnnounce(session, hp.host, hp.port);
      if (!this.jsonEnabled()) this.log(`session description: ${announce.sdpUrl}`);
    }
    const onSignal = (): void => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const opts: SendOptions = {
      core,
      warmUp: { fec, schemes: schemeFor },
      deadlineMs,
      paths: tree.files.map((f) => f.path),
      channels: session.channels,
      family,
      ttl: flags.ttl,
      iface: flags.iface,
      source: flags.source,
      bitsPerSecond,
      ...(session.rate.control === 'webrc' ? { webrc: fromSessionParams(session.rate.params) } : {}),
      signal: abort.signal,
      ...(flexicast === undefined ? {} : { flow: flexicast.flex }),
      ...(flexicast === undefined || expected === undefined ? {} : { receiversDone: () => flexicast.flex.receiversComplete() >= expected }),
    };
    let result: SendRunResult;
    let flexStats: SendResult['flexicast'];
    try {
      if (!this.jsonEnabled() && tree.skipped.length > 0) this.warn(`skipped (not regular files): ${tree.skipped.join(', ')}`);
      if (flexicast !== undefined && !this.jsonEnabled()) this.log(`flexicast: ${flexicast.fields.flexicast} key ${flexicast.fields.senderKey}`);
      result = this.interactive() ? await this.withListr(opts, flags.to, tree.files.length, mode, flags.cycles) : await this.plain(opts, mode, flags.cycles);
      if (flexicast !== undefined) {
        const linger = result.aborted ? 'none' : await flexicast.flex.linger(flexicast.lingerMs, abort.signal);
        flexStats = { ...flexicast.flex.stats(), linger };
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await announce?.close();
      await flexicast?.flex.close();
    }
    const out: SendResult = {
      status: result.aborted ? 'aborted' : 'closed',
      ended: result.ended,
      session,
      sdp: encodeSdp(session),
      sessionFile: flags['session-file'],
      announce: announce === undefined ? undefined : { sdp: announce.sdpUrl, json: announce.jsonUrl },
      objects: tree.files.length,
      bytes: tree.files.reduce((s, f) => s + f.size, 0),
      packets: result.stats.packets,
      datagramBytes: result.stats.bytes,
      cycles: result.stats.cycle,
      achievedBitsPerSecond: Math.round(result.bitsPerSecond),
      durationSeconds: Number((result.elapsedMs / 1000).toFixed(3)),
      windowBlocks: result.windowBlocks,
      skipped: tree.skipped,
      sendBufferSize: result.sendBufferSize,
      sendPath: sendPathInUse(family),
      symbolSize: size.symbolSize,
      ...(pathMtu === undefined || size.largest === undefined ? {} : { pathMtu: { iface: pathMtu.iface, mtu: pathMtu.mtu, largestSymbol: size.largest } }),
      ...(flexStats === undefined ? {} : { flexicast: flexStats }),
    };
    if (!this.jsonEnabled()) {
      this.log(
        `${out.status}: ${out.objects} files (${(out.bytes / 1e6).toFixed(1)} MB), ${out.packets} packets, ${out.cycles} cycles in ${out.durationSeconds} s at ${(out.achievedBitsPerSecond / 1e6).toFixed(1)} Mbit/s via ${out.sendPath}${out.ended === 'receivers-complete' ? `, ended early: ${expected} receivers complete` : ''}`,
      );
      if (flexStats !== undefined) {
        const c = flexStats.controller;
        this.log(`flexicast: ${flexStats.receivers.length} receivers, ${c.fallbacks} fallbacks, ${c.returns} returns, unicast ${(c.unicastBytes / 1e6).toFixed(1)} MB, key epoch ${flexStats.epoch}, ${flexStats.refused} refused, linger ${flexStats.linger}${flexStats.givenUp.length > 0 ? ` (gave up on ${flexStats.givenUp.map((r) => `${r.key.slice(0, 8)} ${r.reason}`).join(', ')})` : ''}`);
      }
    }
    return out;
  }

  private async describeFiles(sources: readonly SourceFile[], signal: AbortSignal): Promise<CarouselFile[]> {
    const out: CarouselFile[] = [];
    for (const [key, f] of sources.entries()) {
      out.push({
        key,
        contentLocation: encodeContentLocation(f.location),
        contentLength: f.size,
        contentType: contentTypeFor(f.location),
        sha256: await hashFile(f.path, signal),
        mtime: f.mtime,
        mode: f.mode,
      });
    }
    return out;
  }

  private describeSession(p: {
    tsi: number;
    name: string | undefined;
    family: 4 | 6;
    to: { group: string; port: number };
    flags: { ttl: number; source?: string };
    fec: FecSettings;
    mode: 'push' | 'on-demand';
    bitsPerSecond: number;
    startUnix: number;
    deadlineMs: number | undefined;
    webrc: ReturnType<typeof webrcInput> | undefined;
  }): SessionDescription {
    const { fec } = p;
    const ldpc: SessionFec = {
      codepoint: 3,
      encodingId: 3,
      symbolSize: fec.symbolSize,
      maxSourceBlockLength: fec.maxSourceBlockLength,
      maxEncodingSymbols: Math.ceil(fec.maxSourceBlockLength / fec.codeRate),
      n1m3: fec.n1m3,
      symbolsPerPacket: 1,
    };
    // Small objects always go as No-Code (src/carousel/plan.ts), so codepoint 0 is always declared.
    const nocode: SessionFec = { codepoint: 0, encodingId: 0, symbolSize: fec.symbolSize, maxSourceBlockLength: Math.min(fec.maxSourceBlockLength, 65_536) };
    const header = maxAlcHeader(p.mode);
    const name = p.name ?? `fcast-${p.tsi.toString(16).padStart(8, '0')}`;
    // WEBRC: LENP_B is the largest datagram, so the parameters are resolved here (src/cli/webrc-flags.ts).
    const wr: WebrcParams | undefined = p.webrc === undefined ? undefined : webrcParams(p.webrc, header + fec.symbolSize, p.family);
    return {
      version: 1,
      name,
      tsi: p.tsi,
      family: p.family === 4 ? 'IP4' : 'IP6',
      ...(p.flags.source === undefined ? {} : { source: p.flags.source }),
      ttl: p.flags.ttl,
      channels: wr === undefined ? [{ cn: 0, group: p.to.group, port: p.to.port }] : webrcChannels(p.to.group, p.to.port, wr.t),
      fec: fec.encodingId === 3 ? [ldpc, nocode] : [nocode],
      cci: 'webrc-short',
      rate: wr === undefined ? { control: 'fixed', bitsPerSecond: p.bitsPerSecond } : { control: 'webrc', bitsPerSecond: p.bitsPerSecond, params: { ...toSessionParams(wr) } },
      mode: p.mode,
      start: p.startUnix,
      ...(p.deadlineMs === undefined ? {} : { stop: p.startUnix + Math.ceil(p.deadlineMs / 1000) }),
      packetSize: header + fec.symbolSize,
      extensions: p.mode === 'on-demand' ? ['EXT_FTI', 'EXT_TIME'] : ['EXT_FTI'],
      auth: 'none',
    };
  }

  private async withListr(opts: SendOptions, to: string, count: number, mode: 'push' | 'on-demand', cycles: number): Promise<SendRunResult> {
    let result: SendRunResult | undefined;
    await new Listr(
      [
        {
          title: `Sending ${count} files to ${to}`,
          task: async (_ctx, task): Promise<void> => {
            result = await sendSession({ ...opts, onProgress: (p) => (task.output = progressLine(p, mode, cycles)) });
            task.title = `Sent ${count} files to ${to}: ${result.stats.cycle} cycles in ${(result.elapsedMs / 1000).toFixed(1)} s`;
          },
          rendererOptions: { outputBar: 1, persistentOutput: true },
        },
      ],
      { rendererOptions: { collapseSubtasks: false } },
    ).run();
    return result!;
  }

  private async plain(opts: SendOptions, mode: 'push' | 'on-demand', cycles: number): Promise<SendRunResult> {
    let lastCycle = -1;
    let lastLine = 0;
    return sendSession({
      ...opts,
      progressMs: 500,
      onProgress: (p) => {
        if (this.jsonEnabled()) return;
        if (p.stats.cycle !== lastCycle || p.elapsedMs - lastLine >= 5000) {
          lastCycle = p.stats.cycle;
          lastLine = p.elapsedMs;
          this.log(progressLine(p, mode, cycles));
        }
      },
    });
  }
}

function progressLine(p: SendProgress, mode: 'push' | 'on-demand', total: number): string {
  const s = p.stats;
  const push = mode === 'push';
  const finished = push && s.cycle >= total;
  const cycle = finished ? total : s.cycle + 1;
  const pct = finished || s.cycleTotal === 0 ? 100 : (100 * s.cyclePackets) / s.cycleTotal;
  return `cycle ${cycle}${push ? `/${total}` : ''} ${pct.toFixed(1)}%  objects ${s.objects}  packets ${s.packets}  ${(p.bitsPerSecond / 1e6).toFixed(1)} Mbit/s  ${(p.elapsedMs / 1000).toFixed(1)} s`;
}

/** Largest LCT+ALC header of a data packet: EXT_FTI of LDPC (the longer one), EXT_TIME in on-demand mode, the payload ID. */
function maxAlcHeader(mode: 'push' | 'on-demand'): number {
  const fti = { encodingId: 3, transferLength: 0, symbolSize: 1, maxSourceBlockLength: 1, maxEncodingSymbols: 1, n1m3: 0, symbolsPerPacket: 1, seed: 1 } as const;
  return alcHeaderSize({ tsi: 1, toi: 1, codepoint: 3, fti, time: mode === 'on-demand' ? { ert: 0 } : undefined, sbn: 0, esi: 0 });
}

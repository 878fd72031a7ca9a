// `fcast receive SESSION -o DIR`: join a multicast session and rebuild every file it carries
// (RFC 6968 §3.8 over RFC 5775 §4.4). Thin: parse flags, resolve the session, run the receive
// loop (src/net/receive-session.ts), draw progress, return the --json summary.
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Args, Flags } from '@oclif/core';
import { FcastCommand } from '../cli/base.js';
import { EXIT } from '../cli/exit-codes.js';
import { parseDuration, resolveTarget } from '../cli/receive-target.js';
import { plainLines, progressLines, summarize, type ReceiveSummary } from '../cli/receive-progress.js';
import { flexicastReceiveFlags, flexProgress, flexRunner, type FlexResult } from '../cli/flex-receive.js';
import { FEC_SCHEMES } from '../assembly/index.js';
import { recvPath } from '../net/mcast-recv.js';
import { receiveSession, type ReceiveOptions } from '../net/receive-session.js';
import { fromSessionParams } from '../rate/index.js';
import { LocalProtocolError } from '../errors.js';

/** WEBRC ARTT floor (man/fcast-receive.1 gives the measurement behind it). */
const WEBRC_MIN_ARTT_MS = 20;

export default class Receive extends FcastCommand<ReceiveSummary & { recvPath?: ReceivePath }> {
  static override summary = 'Receive the files of a multicast session into a directory.';
  static override description = `SESSION is a session description file (SDP or JSON, as written by \`fcast send --session-file\`), an http(s) URL to one, or a bare GROUP:PORT (then the first session heard is followed and everything is learned in band).

Files are assembled under DIR/.fcast, checked (FCAST checksum, SHA-256 digest, length) and renamed into place only when verified, with their mtime and mode. Received symbols are kept in DIR/.fcast so an interrupted receive resumes where it stopped.

Exit status: 0 every object of a complete carousel instance verified; 3 the session closed with objects missing (listed); 4 --timeout expired (missing objects listed); 5 bad session description; 6 I/O error.`;
  static override examples = [
    '<%= config.bin %> receive 239.255.1.2:4000 -o ./inbox',
    '<%= config.bin %> receive session.sdp -o /srv/updates --iface 10.0.0.7 --timeout 10m',
    '<%= config.bin %> receive https://sender.example/.well-known/fcast/nightly.json -o ./in --json',
    '<%= config.bin %> receive [ff3e::4321]:4000 --source 2001:db8::1 -o ./in',
  ];
  static override args = {
    session: Args.string({ description: 'Session file, http(s) URL, or GROUP:PORT.', required: true }),
  };
  static override flags = {
    output: Flags.string({ char: 'o', description: 'Output directory (created if missing).', required: true }),
    iface: Flags.string({ description: 'Interface to join on: a local IPv4 address or an interface name (IPv6: a name).' }),
    source: Flags.string({ description: 'Sender address: source-specific (SSM) join, and only its packets are accepted.' }),
    timeout: Flags.string({ description: 'Give up after this long (e.g. 90s, 10m); exit 4 with the missing objects.' }),
    ...flexicastReceiveFlags,
    'webrc-min-artt': Flags.integer({ description: 'WEBRC sessions: floor of the measured multicast round trip in ms (higher = fewer losses, less of the link).', default: WEBRC_MIN_ARTT_MS, min: 1, max: 10_000 }),
  };

  async run(): Promise<ReceiveSummary & { recvPath?: ReceivePath }> {
    const { args, flags } = await this.parse(Receive);
    const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout);
    const target = await resolveTarget(args.session, flags.source, { timeoutMs, onNotice: (text) => process.stderr.write(`fcast: ${text}\n`) });
    const iface = joinInterface(flags.iface, target.channels[0]?.group);
    const abort = new AbortController();
    const onSignal = (): void => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const base: ReceiveOptions = {
      dir: flags.output,
      channels: target.channels,
      schemes: FEC_SCHEMES,
      iface,
      source: target.source,
      tsi: target.tsi,
      timeoutMs: timeoutMs === undefined ? undefined : Math.max(1, timeoutMs - (target.waitedMs ?? 0)),
      signal: abort.signal,
      ...(target.rate?.control === 'webrc' ? { webrc: fromSessionParams(target.rate.params), webrcMinArtt: flags['webrc-min-artt'] / 1000 } : {}),
      // A bare GROUP:PORT of a WEBRC session: say how to get more than its base channel.
      onNotice: (text) => process.stderr.write(`fcast: ${text}\n`),
    };
    const run = target.flexicast === undefined ? receiveSession : flexRunner(target.flexicast, flags);
    let result: FlexResult;
    try {
      result = this.interactive() ? await this.withListr(base, run) : await this.plain(base, run);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const path = receivePath(target.channels[0]?.group, iface, flags['no-multicast'] || result.flex?.groupsJoined === false);
    const summary = { ...summarize(result), ...(path === undefined ? {} : { recvPath: path }), ...(result.flex === undefined ? {} : { flexicast: result.flex }) };
    if (!this.jsonEnabled()) this.report(summary);
    if (!this.jsonEnabled() && result.flex !== undefined) {
      const f = result.flex;
      this.log(`flexicast: path ${f.pathsUsed}, ${f.flowPackets} flow packets, unicast ${(f.unicastBytes / 1e6).toFixed(1)} MB, ${f.pathLog.filter((e) => e.path === 'unicast').length} fallbacks`);
    }
    if (result.status !== 'complete') {
      if (this.jsonEnabled()) this.logJson(summary);
      this.exit(result.status === 'timeout' ? EXIT.TIMEOUT : EXIT.INCOMPLETE);
    }
    return summary;
  }

  private async withListr(base: ReceiveOptions, run: (o: ReceiveOptions) => Promise<FlexResult>): Promise<FlexResult> {
    let result: FlexResult | undefined;
    // Loaded only on a terminal: eight receivers started by a script never need it.
    const { Listr } = await import('listr2');
    await new Listr(
      [
        {
          title: `Receiving into ${base.dir}`,
          task: async (_ctx, task): Promise<void> => {
            result = await run({ ...base, onProgress: (p) => (task.output = progressLines(p) + flexProgress(p)) });
            task.title = `Receive ${result.status} in ${(result.elapsedMs / 1000).toFixed(1)} s`;
          },
          // One output: the latest progress lines (Infinity kept every update, re-rendered each frame).
          rendererOptions: { outputBar: 1, persistentOutput: true },
        },
      ],
      { rendererOptions: { collapseSubtasks: false } },
    ).run();
    return result!;
  }

  private async plain(base: ReceiveOptions, run: (o: ReceiveOptions) => Promise<FlexResult>): Promise<FlexResult> {
    const seen = new Set<number>();
    let lastLine = 0;
    return run({
      ...base,
      progressMs: 500,
      onProgress: (p) => {
        if (this.jsonEnabled()) return;
        for (const line of plainLines(p, seen)) this.log(line);
        if (p.elapsedMs - lastLine >= 5000) {
          lastLine = p.elapsedMs;
          this.log(progressLines(p, 0) + flexProgress(p));
        }
      },
    });
  }

  private report(s: ReceiveSummary & { recvPath?: ReceivePath }): void {
    const verified = s.objects.filter((o) => o.state === 'verified').length;
    this.log(`${s.status}: ${verified} files verified, ${s.packets} packets, ${(s.bytes / 1e6).toFixed(1)} MB in ${(s.elapsedMs / 1000).toFixed(1)} s${s.recvPath === undefined ? '' : ` via ${s.recvPath}`}`);
    const dropped = Object.entries(s.dropped);
    if (dropped.length > 0) this.log(`dropped: ${dropped.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const m of s.missing) {
      this.log(`missing: ${m.path ?? `TOI ${m.toi}`} (${m.phase}${m.rejectCode ? `, ${m.rejectCode}` : ''}, blocks ${m.blocksDone}/${m.blocks})`);
    }
  }
}

type ReceivePath = 'recvmmsg' | 'dgram' | 'quic';

/**
 * How the multicast datagrams are read, for the summary (`fcast doctor` says what this host can
 * do): src/net/mcast-recv.ts reads IPv4 groups joined without an interface name through the
 * addon's recvmmsg(2) socket when the addon is loaded, and everything else through node:dgram;
 * a flexicast receive that joined no group (--no-multicast, no multicast route, a sender in
 * FC-msg mode 'on') gets its data over QUIC (and FC-msg copies on a UDP socket). Undefined when
 * the channels come in band from a flexicast ANNOUNCE (an fcast:// URL) and were joined.
 */
function receivePath(group: string | undefined, iface: string | undefined, noGroups: boolean): ReceivePath | undefined {
  if (noGroups) return 'quic';
  if (group === undefined) return undefined;
  return isIP(group) === 4 && (iface === undefined || isIP(iface) === 4) ? recvPath() : 'dgram';
}

/**
 * --iface for an IPv4 group: IP_ADD_MEMBERSHIP takes an address, and a name failed there with
 * "addMembership EINVAL" (exit 6), though fcast send and fcast doctor take names. A name becomes
 * the interface's first IPv4 address; IPv6 joins take the name as it is.
 */
function joinInterface(iface: string | undefined, group: string | undefined): string | undefined {
  if (iface === undefined || group === undefined || isIP(group) !== 4 || isIP(iface) !== 0) return iface;
  const name = iface.startsWith('%') ? iface.slice(1) : iface;
  const v4 = networkInterfaces()[name]?.find((a) => a.family === 'IPv4');
  if (v4 === undefined) throw new LocalProtocolError('USAGE', `--iface ${iface}: no interface of that name with an IPv4 address (an IPv4 group is joined on an address)`);
  return v4.address;
}

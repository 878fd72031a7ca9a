// The project's isolated test network: one sender and N receivers on a Linux bridge, every host in
// a network namespace this helper creates (names `fcast-t<pid>-<seq>-…`, so parallel test files
// never collide) and removes. Addresses are 10.77.<subnet>.0/24 and exist only inside those
// namespaces: no default route anywhere, the host namespace gets no interface, nothing leaves.
//
//   ns …-s   sender     eth0 10.77.S.1    ──veth── vs   ┐
//   ns …-r1  receiver 0 eth0 10.77.S.11   ──veth── vr1  ├─ br0 10.77.S.254 (ns …-br)
//   ns …-rN  receiver N-1 eth0 10.77.S.(10+N) ─veth─ vrN ┘
//   (IPv6: fd77:0:S::<same last number>/64 on the same links, e.g. fd77:0:1::11; ff00::/8 routes exist)
//
// Impairments, per receiver and changeable at run time (this kernel has no sch_netem, so there is
// no delay emulation here; test/helpers/delay-link.ts adds path delay to a receiver's link with a
// userspace relay):
// - loss: nftables `numgen random mod 10000 < N drop` on the receiver's eth0 ingress (netdev);
// - blocked multicast: drop UDP to 224.0.0.0/4 and ff00::/8 there (IGMP/MLD still pass, so the
//   receiver keeps its memberships, as behind a switch that drops the group's data);
// - blocked link: drop everything in and out of the receiver's eth0;
// - rate: `tc tbf` on the bridge-side port (egress towards the receiver).
// With `snooping: true` the bridge follows IGMP/MLD (snooping + querier + fast leave, the recipe
// in ../shared/bench/README.md), so a group reaches only ports that joined it and a leave stops it.
//
// Hosts are addressed as 'sender', 'bridge' or a receiver index (0-based).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export type Host = 'sender' | 'bridge' | number;

export interface NetHost {
  /** Network namespace name (for `ip netns exec`). */
  readonly ns: string;
  /** IPv4 address on eth0 (the bridge's address on br0). */
  readonly ip: string;
  /** IPv6 ULA address on eth0 (fd77:0:<subnet>::N/64, no DAD); undefined when the kernel has no IPv6. */
  readonly ip6: string | undefined;
  /** Interface inside the namespace: eth0 (br0 for the bridge). */
  readonly iface: string;
}

export interface NetReceiver extends NetHost {
  readonly index: number;
  /** The bridge-side veth of this receiver (in the bridge namespace): where tbf sits. */
  readonly port: string;
}

export interface TestNetOptions {
  /** Number of receivers, 1..32. */
  readonly receivers: number;
  /** Bridge multicast snooping with querier and fast leave (default false: every group floods). */
  readonly snooping?: boolean;
  /** Third octet of 10.77.x.0/24 (default 1). Namespaces isolate nets; this only eases reading logs. */
  readonly subnet?: number;
}

export interface ExecOptions {
  /** Kill the process after this many ms (default 10 000). */
  readonly timeoutMs?: number;
  /** Written to stdin, then stdin is closed. */
  readonly input?: string;
  /** Reject when the exit code is not 0 (default true). */
  readonly check?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface NetProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Output so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExecResult>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<ExecResult>;
}

export interface RateOptions {
  /** tbf bucket size in bytes (default max(16 KiB, 4 ms at the rate)). */
  readonly burstBytes?: number;
  /** tbf queue latency in ms (default 50). */
  readonly latencyMs?: number;
}

interface Impairment {
  lossPct: number;
  multicastBlocked: boolean;
  allBlocked: boolean;
}

const NS_PREFIX = 'fcast-t';
const STALE_RE = /^fcast-t(\d+)-\d+-/;
const MAX_RECEIVERS = 32;
const SBIN = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
const NFT_TABLE = 'fcasttest';
const QUERIER_SETTLE_MS = 1300;
const HAVE_IPV6 = existsSync('/proc/sys/net/ipv6');

let seq = 0;
const live = new Set<TestNet>();
let exitHookInstalled = false;

function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SBIN];
  for (const d of dirs) {
    if (d !== '' && existsSync(join(d, cmd))) return join(d, cmd);
  }
  return undefined;
}

let unavailable: string | undefined | null = null;

/**
 * Why network-namespace tests cannot run here, or undefined when they can: needs root, `ip`,
 * `tc`, `bridge` and `nft`, and a kernel that lets us create a namespace. Synchronous and cached,
 * so it can drive `describe.skipIf`.
 */
export function netnsUnavailable(): string | undefined {
  if (unavailable !== null) return unavailable;
  unavailable = probe();
  return unavailable;
}

/** True when netns tests can run (see netnsUnavailable for the reason when not). */
export function canUseNetns(): boolean {
  return netnsUnavailable() === undefined;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network-namespace tests need root';
  for (const tool of ['ip', 'tc', 'bridge', 'nft']) {
    if (which(tool) === undefined) return `\`${tool}\` is not installed (apt-get install iproute2 nftables)`;
  }
  const name = `${NS_PREFIX}${process.pid}-0-probe`;
  try {
    execFileSync(ip(), ['netns', 'add', name], { stdio: 'pipe', timeout: 5000 });
    execFileSync(ip(), ['netns', 'del', name], { stdio: 'pipe', timeout: 5000 });
  } catch (e) {
    return `cannot create a network namespace: ${(e as Error).message.split('\n')[0] ?? ''}`;
  }
  return undefined;
}

function ip(): string {
  return which('ip') ?? 'ip';
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listNamespaces(): string[] {
  const out = execFileSync(ip(), ['netns', 'list'], { encoding: 'utf8', timeout: 5000 });
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '');
}

/**
 * Delete namespaces of this helper's prefix whose creating process is gone (a crashed earlier
 * run). Namespaces of live processes, and all other namespaces, are left alone.
 */
export function sweepStaleNamespaces(): string[] {
  const removed: string[] = [];
  for (const name of listNamespaces()) {
    const m = STALE_RE.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      execFileSync(ip(), ['netns', 'del', name], { stdio: 'pipe', timeout: 5000 });
      removed.push(name);
    } catch {
      // Already gone (another sweeper was faster).
    }
  }
  return removed;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test forgot destroy() or the worker is exiting: synchronous teardown.
  process.on('exit', () => {
    for (const net of live) net.destroySync();
  });
}

/** The test network. Create with `await TestNet.create({ receivers: 3 })`; always `await net.destroy()`. */
export class TestNet {
  readonly sender: NetHost;
  readonly bridge: NetHost;
  readonly receivers: readonly NetReceiver[];
  readonly snooping: boolean;
  /** Multicast group prefix that is free for tests on this network: `${groupBase}.N`. */
  readonly groupBase: string;

  private readonly namespaces: string[] = [];
  private readonly procs = new Set<NetProcess>();
  private readonly impair: Impairment[];
  private destroyed = false;

  private constructor(prefix: string, n: number, subnet: number, snooping: boolean) {
    const net = `10.77.${subnet}`;
    const v6 = (host: number) => (HAVE_IPV6 ? `fd77:0:${subnet}::${host}` : undefined);
    this.sender = { ns: `${prefix}-s`, ip: `${net}.1`, ip6: v6(1), iface: 'eth0' };
    this.bridge = { ns: `${prefix}-br`, ip: `${net}.254`, ip6: v6(254), iface: 'br0' };
    this.receivers = Array.from({ length: n }, (_, i) => ({
      index: i,
      ns: `${prefix}-r${i + 1}`,
      ip: `${net}.${11 + i}`,
      ip6: v6(11 + i),
      iface: 'eth0',
      port: `vr${i + 1}`,
    }));
    this.snooping = snooping;
    this.groupBase = `239.77.${subnet}`;
    this.impair = Array.from({ length: n }, () => ({ lossPct: 0, multicastBlocked: false, allBlocked: false }));
  }

  static async create(opts: TestNetOptions): Promise<TestNet> {
    const reason = netnsUnavailable();
    if (reason !== undefined) throw new Error(`TestNet: ${reason}`);
    const n = opts.receivers;
    if (!Number.isInteger(n) || n < 1 || n > MAX_RECEIVERS) throw new Error(`TestNet: receivers must be 1..${MAX_RECEIVERS}`);
    const subnet = opts.subnet ?? 1;
    if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255) throw new Error('TestNet: subnet must be 0..255');
    sweepStaleNamespaces();
    installExitHook();
    seq += 1;
    const net = new TestNet(`${NS_PREFIX}${process.pid}-${seq}`, n, subnet, opts.snooping ?? false);
    live.add(net);
    try {
      await net.build();
    } catch (e) {
      await net.destroy();
      throw e;
    }
    return net;
  }

  /** The namespace and address of a host. */
  host(h: Host): NetHost {
    if (h === 'sender') return this.sender;
    if (h === 'bridge') return this.bridge;
    const r = this.receivers[h];
    if (r === undefined) throw new Error(`TestNet: no receiver ${h} (have ${this.receivers.length})`);
    return r;
  }

  /** Run argv inside a host's namespace and wait for it (bounded by timeoutMs). */
  async exec(h: Host, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const p = this.spawn(h, argv, opts);
    if (opts.input !== undefined) p.child.stdin?.end(opts.input);
    else p.child.stdin?.end();
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const timer = setTimeout(() => void p.stop(500), timeoutMs);
    const res = await p.exited;
    clearTimeout(timer);
    if ((opts.check ?? true) && res.code !== 0) {
      const why = res.signal !== null ? `killed by ${res.signal}${res.signal === 'SIGTERM' ? ` (timeout ${timeoutMs} ms?)` : ''}` : `exit ${res.code}`;
      throw new Error(`TestNet: \`${argv.join(' ')}\` in ${this.host(h).ns}: ${why}: ${res.stderr.trim().slice(0, 500)}`);
    }
    return res;
  }

  /** Start argv inside a host's namespace. destroy() stops it if it is still running. */
  spawn(h: Host, argv: readonly string[], opts: Pick<ExecOptions, 'env' | 'cwd'> = {}): NetProcess {
    if (this.destroyed) throw new Error('TestNet: already destroyed');
    if (argv.length === 0) throw new Error('TestNet: empty argv');
    const ns = this.host(h).ns;
    // `ip netns exec` execs argv after entering the namespace: the pid is the program's own.
    const child = spawn(ip(), ['netns', 'exec', ns, ...argv], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<ExecResult>((resolve) => {
      let spawnError = '';
      child.on('error', (e) => (spawnError = `${e.message}\n`));
      child.on('close', (code, signal) => {
        this.procs.delete(proc);
        resolve({ code, signal, stdout, stderr: spawnError + stderr });
      });
    });
    const proc: NetProcess = {
      pid: child.pid ?? -1,
      child,
      output: () => ({ stdout, stderr }),
      exited,
      stop: async (graceMs = 1000) => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const t = setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          }, graceMs);
          const r = await exited;
          clearTimeout(t);
          return r;
        }
        return exited;
      },
    };
    this.procs.add(proc);
    return proc;
  }

  /** Drop `pct` percent (0..100, step 0.01) of the IP packets arriving at receiver i. */
  async setLoss(i: number, pct: number): Promise<void> {
    if (!(pct >= 0 && pct <= 100)) throw new Error(`TestNet: loss ${pct}% is not in 0..100`);
    this.impairOf(i).lossPct = pct;
    await this.applyFilter(i);
  }

  /** Drop (on) or pass (off) every multicast UDP datagram arriving at receiver i; IGMP/MLD pass. */
  async blockMulticast(i: number, on: boolean): Promise<void> {
    this.impairOf(i).multicastBlocked = on;
    await this.applyFilter(i);
  }

  /** Cut (on) or restore (off) receiver i's link entirely: every packet in and out is dropped. */
  async blockAll(i: number, on: boolean): Promise<void> {
    this.impairOf(i).allBlocked = on;
    await this.applyFilter(i);
  }

  /**
   * Packets dropped by receiver i's filter rules since they were last changed. A UDP GSO buffer
   * (fcast's sender sends runs of up to 16 datagrams as one) reaches the netdev hook whole and
   * counts as one packet; droppedBytes() counts what it held.
   */
  async droppedPackets(i: number): Promise<number> {
    return (await this.dropCounters(i)).packets;
  }

  /** Bytes (IP packets, whole GSO buffers) dropped by receiver i's filter rules since they were last changed. */
  async droppedBytes(i: number): Promise<number> {
    return (await this.dropCounters(i)).bytes;
  }

  private async dropCounters(i: number): Promise<{ packets: number; bytes: number }> {
    this.receiverOf(i);
    const res = await this.exec(i, ['nft', '-j', 'list', 'ruleset'], { timeoutMs: 5000 });
    const total = { packets: 0, bytes: 0 };
    const json = JSON.parse(res.stdout) as { nftables?: Array<{ rule?: { table: string; expr?: Array<{ counter?: { packets: number; bytes: number } }> } }> };
    for (const item of json.nftables ?? []) {
      if (item.rule?.table !== NFT_TABLE) continue;
      for (const e of item.rule.expr ?? []) {
        total.packets += e.counter?.packets ?? 0;
        total.bytes += e.counter?.bytes ?? 0;
      }
    }
    return total;
  }

  /**
   * Limit the link towards receiver i to `mbit` Mbit/s (tbf on its bridge port); undefined or 0
   * removes the limit.
   */
  async setRate(i: number, mbit: number | undefined, opts: RateOptions = {}): Promise<void> {
    const r = this.receiverOf(i);
    if (mbit === undefined || mbit === 0) {
      await this.exec('bridge', ['tc', 'qdisc', 'del', 'dev', r.port, 'root'], { check: false, timeoutMs: 5000 });
      return;
    }
    if (!(mbit > 0 && mbit <= 100_000)) throw new Error(`TestNet: rate ${mbit} Mbit/s is out of range`);
    const bytesPerSec = (mbit * 1e6) / 8;
    const burst = Math.round(opts.burstBytes ?? Math.max(16 * 1024, bytesPerSec * 0.004));
    const latency = opts.latencyMs ?? 50;
    await this.exec('bridge', ['tc', 'qdisc', 'replace', 'dev', r.port, 'root', 'tbf',
      'rate', `${Math.round(mbit * 1000)}kbit`, 'burst', String(burst), 'latency', `${latency}ms`], { timeoutMs: 5000 });
  }

  /** Groups the bridge currently forwards to receiver i's port (snooping database). */
  async joinedGroups(i: number): Promise<string[]> {
    const r = this.receiverOf(i);
    const res = await this.exec('bridge', ['bridge', '-j', 'mdb', 'show', 'dev', 'br0'], { timeoutMs: 5000 });
    const out = res.stdout.trim() === '' ? [] : (JSON.parse(res.stdout) as Array<{ mdb?: Array<{ port: string; grp: string }> }>);
    return out.flatMap((e) => e.mdb ?? []).filter((m) => m.port === r.port).map((m) => m.grp);
  }

  /** Packets and bytes received on a host's eth0 so far (the kernel's interface counters). */
  async rxStats(h: Host): Promise<{ packets: number; bytes: number }> {
    const hh = this.host(h);
    const res = await this.exec(h, ['ip', '-j', '-s', 'link', 'show', 'dev', hh.iface], { timeoutMs: 5000 });
    const [link] = JSON.parse(res.stdout) as Array<{ stats64?: { rx?: { packets: number; bytes: number } } }>;
    const rx = link?.stats64?.rx;
    if (rx === undefined) throw new Error(`TestNet: no counters for ${hh.ns}/${hh.iface}`);
    return { packets: rx.packets, bytes: rx.bytes };
  }

  /** Stop every process this network started, delete its namespaces. Idempotent; never throws. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.procs].map((p) => p.stop(500)));
    for (const ns of [...this.namespaces].reverse()) {
      await run(ip(), ['netns', 'del', ns], 5000).catch(() => undefined);
    }
    this.namespaces.length = 0;
    live.delete(this);
  }

  /** Synchronous teardown for process exit (see installExitHook). */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    }
    for (const ns of [...this.namespaces].reverse()) {
      try {
        execFileSync(ip(), ['netns', 'del', ns], { stdio: 'pipe', timeout: 5000 });
      } catch {
        // Best effort at exit; the next run's sweeper removes leftovers.
      }
    }
    live.delete(this);
  }

  private receiverOf(i: number): NetReceiver {
    const r = this.receivers[i];
    if (r === undefined) throw new Error(`TestNet: no receiver ${i} (have ${this.receivers.length})`);
    return r;
  }

  private impairOf(i: number): Impairment {
    this.receiverOf(i);
    const s = this.impair[i];
    if (s === undefined) throw new Error(`TestNet: no receiver ${i}`);
    return s;
  }

  private async addNs(ns: string): Promise<void> {
    await run(ip(), ['netns', 'add', ns], 5000);
    this.namespaces.push(ns);
    await run(ip(), ['-n', ns, 'link', 'set', 'lo', 'up'], 5000);
    if (HAVE_IPV6) {
      // No duplicate address detection: link-local addresses (and MLD) work at once, not ~1 s later.
      await run(ip(), ['netns', 'exec', ns, 'sh', '-c',
        'echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad && echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad'], 5000);
    }
  }

  private async build(): Promise<void> {
    const br = this.bridge.ns;
    await this.addNs(br);
    const bridgeOpts = this.snooping
      ? ['mcast_snooping', '1', 'mcast_query_response_interval', '100', 'mcast_igmp_version', '3', 'mcast_mld_version', '2']
      : ['mcast_snooping', '0'];
    await ipn(br, ['link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', ...bridgeOpts]);
    const hosts: Array<{ h: NetHost; port: string }> = [
      { h: this.sender, port: 'vs' },
      ...this.receivers.map((r) => ({ h: r as NetHost, port: r.port })),
    ];
    for (const { h, port } of hosts) {
      await this.addNs(h.ns);
      await ipn(br, ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
      await ipn(br, ['link', 'set', port, 'master', 'br0', 'up']);
      await ipn(h.ns, ['addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
      if (h.ip6 !== undefined) await ipn(h.ns, ['addr', 'add', `${h.ip6}/64`, 'dev', 'eth0', 'nodad']);
      await ipn(h.ns, ['link', 'set', 'eth0', 'up']);
      await ipn(h.ns, ['route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
    }
    await ipn(br, ['addr', 'add', `${this.bridge.ip}/24`, 'dev', 'br0']);
    if (this.bridge.ip6 !== undefined) await ipn(br, ['addr', 'add', `${this.bridge.ip6}/64`, 'dev', 'br0', 'nodad']);
    await ipn(br, ['link', 'set', 'br0', 'up']);
    if (this.snooping) {
      // Queries with a real source address; fast leave so a leave stops the group at once.
      await ipn(br, ['link', 'set', 'br0', 'type', 'bridge', 'mcast_query_use_ifaddr', '1', 'mcast_querier', '1']);
      for (const r of this.receivers) await run(which('bridge') ?? 'bridge', ['-n', br, 'link', 'set', 'dev', r.port, 'fastleave', 'on'], 5000);
    }
    const querierSince = Date.now();
    await this.waitCarrier();
    if (this.snooping) {
      // The bridge floods every group until its own querier counts as present, one query
      // response interval (1 s here) after it was enabled; before that, snooping proves nothing.
      await new Promise((r) => setTimeout(r, Math.max(0, querierSince + QUERIER_SETTLE_MS - Date.now())));
    }
  }

  /** veths come up asynchronously; tests should not race the first packets against that. */
  private async waitCarrier(): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const res = await run(ip(), ['-n', this.bridge.ns, '-j', 'link', 'show', 'master', 'br0'], 5000);
      const links = JSON.parse(res.stdout) as Array<{ operstate?: string }>;
      if (links.length === this.receivers.length + 1 && links.every((l) => l.operstate === 'UP' || l.operstate === 'UNKNOWN')) return;
      if (Date.now() > deadline) throw new Error('TestNet: bridge ports did not come up within 5 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Replace receiver i's filter tables in one nft transaction (counters restart from 0). */
  private async applyFilter(i: number): Promise<void> {
    const s = this.impairOf(i);
    const ingress: string[] = [];
    const egress: string[] = [];
    if (s.allBlocked) {
      ingress.push('counter drop');
      egress.push('oifname "eth0" counter drop');
    }
    if (s.multicastBlocked) {
      ingress.push('meta protocol ip ip daddr 224.0.0.0/4 meta l4proto udp counter drop');
      ingress.push('meta protocol ip6 ip6 daddr ff00::/8 meta l4proto udp counter drop');
    }
    if (s.lossPct > 0) {
      const threshold = Math.round(s.lossPct * 100);
      ingress.push(`meta protocol { ip, ip6 } numgen random mod 10000 < ${threshold} counter drop`);
    }
    // "add then delete" makes the delete valid whether or not the table exists, atomically.
    const script = [
      `table netdev ${NFT_TABLE} {}`,
      `delete table netdev ${NFT_TABLE}`,
      `table inet ${NFT_TABLE} {}`,
      `delete table inet ${NFT_TABLE}`,
    ];
    if (ingress.length > 0) {
      script.push(`table netdev ${NFT_TABLE} {`, '  chain in {', '    type filter hook ingress device "eth0" priority 0; policy accept;',
        ...ingress.map((r) => `    ${r}`), '  }', '}');
    }
    if (egress.length > 0) {
      script.push(`table inet ${NFT_TABLE} {`, '  chain out {', '    type filter hook output priority 0; policy accept;',
        ...egress.map((r) => `    ${r}`), '  }', '}');
    }
    await this.exec(i, ['nft', '-f', '-'], { input: `${script.join('\n')}\n`, timeoutMs: 5000 });
  }
}

function ipn(ns: string, args: readonly string[]): Promise<ExecResult> {
  return run(ip(), ['-n', ns, ...args], 5000);
}

/** Run a host-namespace command (ip/bridge with -n), bounded, reject on failure. */
function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ code, signal, stdout, stderr });
      else reject(new Error(`\`${cmd} ${args.join(' ')}\`: ${signal ?? `exit ${code}`}: ${stderr.trim()}`));
    });
  });
}

/** Resolve once a process's stdout or stderr matches `re`; reject on exit or after timeoutMs. */
export async function waitForOutput(p: NetProcess, re: RegExp, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void p.exited.then(() => (exited = true));
  for (;;) {
    const o = p.output();
    if (re.test(o.stdout) || re.test(o.stderr)) return;
    if (exited) throw new Error(`process ${p.pid} exited before printing ${re}: ${o.stderr.trim().slice(0, 300)}`);
    if (Date.now() > deadline) throw new Error(`process ${p.pid} did not print ${re} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolve once `host`'s eth0 has joined `group` (ip maddr); reject after timeoutMs. */
export async function waitForJoin(net: TestNet, host: Host, group: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await net.exec(host, ['ip', 'maddr', 'show', 'dev', 'eth0'], { timeoutMs: 5000 })).stdout.includes(` ${group}`)) {
    if (Date.now() > deadline) throw new Error(`${host} joined ${group} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Absolute path of test/helpers/udp-probe.mjs, the UDP sender/receiver to run inside namespaces. */
export const UDP_PROBE = new URL('./udp-probe.mjs', import.meta.url).pathname;

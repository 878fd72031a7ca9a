// Path delay for one TestNet receiver (test/helpers/netns.ts): this kernel has no sch_netem, so
// the delay comes from a small userspace relay (issue 5), and the link is rebuilt as a VXLAN
// tunnel whose UDP frames pass through that relay, so every packet of the link is delayed in
// both directions: data, TCP ACKs and the receiver's IGMP/MLD reports alike (a join's latency and
// a TCP flow's round trip both see 2·oneWayMs, as behind a real WAN link).
//
//   before: receiver eth0 ──veth── vrN (bridge port, tbf)
//   after:  receiver eth0 (vxlan, same addresses) ─ ul0 ──veth── uaN ─ vrN (vxlan, bridge port, tbf)
//           bridge vrN sends its frames to the receiver's relay (ul0:4789), which forwards them
//           oneWayMs later to the receiver's eth0 (ul0:4790); the receiver's eth0 sends to the
//           bridge's relay (uaN:4790), which forwards them to vrN (uaN:4789).
//
// The names stay what TestNet knows (eth0 in the receiver, vrN on the bridge), so setRate (tbf on
// vrN, ahead of the delay: the queue is at the bottleneck), joinedGroups (snooping on vrN) and the
// nftables impairments (on the receiver's eth0) work as before. The relays are TestNet processes
// (stopped by destroy()); the veth and vxlan devices go with the namespaces. A kernel without
// vxlan fails here with the `ip` error.
import { existsSync } from 'node:fs';
import { TestNet, waitForOutput, type NetProcess } from './netns.js';

/** Absolute path of the relay script run inside the namespaces. */
export const DELAY_RELAY = new URL('./delay-relay.mjs', import.meta.url).pathname;

/** Underlay MTU: the 50 bytes of VXLAN/UDP/IP around a 1500-byte frame. */
const UNDERLAY_MTU = 1600;
const BRIDGE_SIDE_PORT = 4789;
const RECEIVER_SIDE_PORT = 4790;

/**
 * Put `oneWayMs` of delay in each direction on receiver i's link (round trip + 2·oneWayMs). Call
 * once per receiver, before traffic starts, and set its rate (setRate) after: a rate set before
 * sat on the old veth and is dropped.
 */
export async function delayLink(net: TestNet, i: number, oneWayMs: number): Promise<DelayedLink> {
  const r = net.receivers[i];
  if (r === undefined) throw new Error(`delayLink: no receiver ${i}`);
  if (!(oneWayMs >= 0 && oneWayMs <= 1000)) throw new Error(`delayLink: ${oneWayMs} ms is out of range`);
  const subnet = r.ip.split('.')[2]!;
  const bridgeUl = `10.78.${subnet}.${4 * i + 1}`;
  const rxUl = `10.78.${subnet}.${4 * i + 2}`;
  const vni = String(i + 1);
  const ua = `ua${i + 1}`;
  const br = (args: string[]) => net.exec('bridge', args, { timeoutMs: 5000 });
  const rx = (args: string[]) => net.exec(i, args, { timeoutMs: 5000 });

  // Bridge side: the veth leaves the bridge and becomes the underlay; a vxlan takes its name.
  await br(['ip', 'link', 'set', r.port, 'nomaster']);
  await br(['ip', 'link', 'set', r.port, 'down']);
  await br(['ip', 'link', 'set', r.port, 'name', ua, 'mtu', String(UNDERLAY_MTU)]);
  await br(['tc', 'qdisc', 'del', 'dev', ua, 'root']).catch(() => undefined); // a rate set before
  await br(['ip', 'addr', 'add', `${bridgeUl}/30`, 'dev', ua]);
  await br(['ip', 'link', 'set', ua, 'up']);
  await br(['ip', 'link', 'add', r.port, 'type', 'vxlan', 'id', vni, 'local', bridgeUl, 'remote', rxUl,
    'dstport', String(BRIDGE_SIDE_PORT), 'nolearning']);
  await br(['ip', 'link', 'set', r.port, 'mtu', '1500', 'master', 'br0', 'up']);
  if (net.snooping) await br(['bridge', 'link', 'set', 'dev', r.port, 'fastleave', 'on']);

  // Receiver side: eth0 becomes the underlay ul0; a vxlan named eth0 takes the addresses.
  await rx(['ip', 'link', 'set', 'eth0', 'down']);
  await rx(['ip', 'link', 'set', 'eth0', 'name', 'ul0', 'mtu', String(UNDERLAY_MTU)]);
  await rx(['ip', 'addr', 'flush', 'dev', 'ul0']);
  await rx(['ip', 'addr', 'add', `${rxUl}/30`, 'dev', 'ul0']);
  await rx(['ip', 'link', 'set', 'ul0', 'up']);
  await rx(['ip', 'link', 'add', 'eth0', 'type', 'vxlan', 'id', vni, 'local', rxUl, 'remote', bridgeUl,
    'dstport', String(RECEIVER_SIDE_PORT), 'nolearning']);
  await rx(['ip', 'link', 'set', 'eth0', 'mtu', '1500']);
  await rx(['ip', 'addr', 'add', `${r.ip}/24`, 'dev', 'eth0']);
  if (r.ip6 !== undefined) await rx(['ip', 'addr', 'add', `${r.ip6}/64`, 'dev', 'eth0', 'nodad']);
  await rx(['ip', 'link', 'set', 'eth0', 'up']);
  await rx(['ip', 'route', 'replace', '224.0.0.0/4', 'dev', 'eth0']);

  // Towards the receiver: relay in its namespace; towards the bridge: relay in the bridge's.
  // Real-time priority (SCHED_FIFO, where chrt exists): the relays are the link, and on a busy
  // machine a relay at normal priority stalled for 50-100 ms now and then, then sent the held
  // frames in one burst; WEBRC measures its received rate per 50 ms epoch, so such a pause read as
  // an epoch with nothing received (bench/webrc-fairness.ts trace: RR 440 -> 0 -> 760 packets/s)
  // and ended its start-up at half its rate (rule (d)). A relay never busy-waits: it sleeps on a
  // timer between frames, so it cannot starve the machine.
  const d = String(oneWayMs);
  const rt = chrt === undefined ? [] : [chrt, '--fifo', '20'];
  const down = net.spawn(i, [...rt, process.execPath, DELAY_RELAY, `${rxUl}:${BRIDGE_SIDE_PORT}`, `${rxUl}:${RECEIVER_SIDE_PORT}`, d]);
  const up = net.spawn('bridge', [...rt, process.execPath, DELAY_RELAY, `${bridgeUl}:${RECEIVER_SIDE_PORT}`, `${bridgeUl}:${BRIDGE_SIDE_PORT}`, d]);
  await Promise.all([waitForOutput(down, /relaying/), waitForOutput(up, /relaying/)]);
  return { down, up };
}

/** The two relays of a delayed link: `stats` stops them and returns what each forwarded. */
export interface DelayedLink {
  readonly down: NetProcess;
  readonly up: NetProcess;
}

export interface RelayStats {
  readonly frames: number;
  readonly bytes: number;
  /** The most a frame left after its due time, ms: the relay's own jitter. */
  readonly lateMaxMs: number;
}

/** Stop both relays (the link goes dead) and return their counts, towards the receiver first. */
export async function stopDelayedLink(link: DelayedLink): Promise<{ down: RelayStats; up: RelayStats }> {
  const [down, up] = await Promise.all([link.down.stop(2000), link.up.stop(2000)]);
  const parse = (out: string): RelayStats => JSON.parse(out.trim().split('\n').pop() ?? '{}') as RelayStats;
  return { down: parse(down.stdout), up: parse(up.stdout) };
}

const chrt = ['/usr/bin/chrt', '/bin/chrt'].find((p) => existsSync(p));

// Per-flow byte counters at a TestNet receiver (test/helpers/netns.ts), for the WEBRC fairness
// runs (test/netns/webrc.test.ts, bench/webrc-fairness.ts): nftables counters on the receiver's
// IP input, one for the multicast datagrams (the WEBRC session's channels) and one for TCP, read
// at any moment. Both flows are counted the same way, as IP packets delivered past the bottleneck
// (headers included), so a window of the run (after a warm-up) compares like with like.
import type { TestNet } from './netns.js';

const TABLE = 'fcast_meter';

export interface FlowBytes {
  /** IP bytes of multicast UDP (IPv4 224.0.0.0/4) delivered to the receiver. */
  readonly multicast: number;
  /** IP bytes of TCP delivered to the receiver. */
  readonly tcp: number;
  /** When read (Date.now()). */
  readonly at: number;
}

/** Install the counters on receiver i (once; removed with the namespace). */
export async function installFlowMeter(net: TestNet, i: number): Promise<void> {
  const script = [
    `add table inet ${TABLE}`,
    `add chain inet ${TABLE} input { type filter hook input priority -10; policy accept; }`,
    `add rule inet ${TABLE} input ip daddr 224.0.0.0/4 meta l4proto udp counter comment "multicast"`,
    `add rule inet ${TABLE} input meta l4proto tcp counter comment "tcp"`,
  ].join('\n');
  await net.exec(i, ['nft', '-f', '-'], { input: `${script}\n` });
}

/** The counters of receiver i now. */
export async function readFlowMeter(net: TestNet, i: number): Promise<FlowBytes> {
  const res = await net.exec(i, ['nft', '-j', 'list', 'table', 'inet', TABLE]);
  const at = Date.now();
  const items = (JSON.parse(res.stdout) as { nftables: Array<{ rule?: { comment?: string; expr: Array<{ counter?: { bytes: number } }> } }> }).nftables;
  const bytes = (name: string): number => {
    const rule = items.find((x) => x.rule?.comment === name)?.rule;
    const counter = rule?.expr.find((e) => e.counter !== undefined)?.counter;
    if (counter === undefined) throw new Error(`flow meter: no ${name} counter`);
    return counter.bytes;
  };
  return { multicast: bytes('multicast'), tcp: bytes('tcp'), at };
}

/** Mbit/s of each flow between two readings. */
export function flowRates(a: FlowBytes, b: FlowBytes): { multicastMbit: number; tcpMbit: number } {
  const secs = (b.at - a.at) / 1000;
  return { multicastMbit: ((b.multicast - a.multicast) * 8) / secs / 1e6, tcpMbit: ((b.tcp - a.tcp) * 8) / secs / 1e6 };
}

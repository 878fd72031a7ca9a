#!/usr/bin/env node
// A small UDP sender/receiver that tests run inside TestNet namespaces (test/helpers/netns.ts),
// where a test process cannot open sockets itself. Plain JavaScript so it runs without a build.
//
//   udp-probe.mjs recv --port P [--group G] [--iface-addr A] [--ms T] [--leave-after N] [--family 6]
//       Binds 0.0.0.0:P, or [::]:P with --family 6 (joins G on A; IPv6: A is "::%eth0"), writes "ready" to stderr once listening, counts datagrams
//       for T ms (default 3000; leaves G after N datagrams, writing "left") and prints one JSON line:
//       {"packets":n,"bytes":n,"firstMs":t|null,"lastMs":t|null,"beforeLeave":n}
//       (also on SIGTERM, so a test can end it as soon as the sender is done).
//   udp-probe.mjs send --to HOST:PORT [--count N] [--size S | --hex BYTES] [--pps R] [--max-ms M] [--ttl T] [--iface-addr A]
//       (IPv6 when HOST is in brackets, [ff15::1]:P; --iface-addr is then "::%eth0")
//       Sends N datagrams (default 100) of S bytes (default 1000) at R per second (0 = as fast as
//       the socket takes them, at most 64 in flight), stopping after M ms (default 5000) in any
//       case, and prints {"sent":n,"bytes":n,"ms":t}. --hex sends those bytes (e.g. an ALC packet
//       a test encoded) instead of S bytes of 0x5a.
import dgram from 'node:dgram';

const [mode, ...rest] = process.argv.slice(2);
const opts = new Map();
for (let i = 0; i < rest.length; i += 2) opts.set(rest[i].replace(/^--/, ''), rest[i + 1]);
const num = (k, d) => (opts.has(k) ? Number(opts.get(k)) : d);
const start = performance.now();
const elapsed = () => Math.round((performance.now() - start) * 10) / 10;

if (mode === 'recv') recv();
else if (mode === 'send') send();
else {
  process.stderr.write('usage: udp-probe.mjs recv|send ...\n');
  process.exit(2);
}

function recv() {
  const group = opts.get('group');
  const ifaceAddr = opts.get('iface-addr');
  const leaveAfter = num('leave-after', -1);
  const s = dgram.createSocket({ type: opts.get('family') === '6' ? 'udp6' : 'udp4', reuseAddr: true });
  let packets = 0;
  let bytes = 0;
  let firstMs = null;
  let lastMs = null;
  let beforeLeave = -1;
  s.on('message', (m) => {
    packets += 1;
    bytes += m.length;
    lastMs = elapsed();
    firstMs ??= lastMs;
    if (packets === leaveAfter && group !== undefined) {
      beforeLeave = packets;
      s.dropMembership(group, ifaceAddr);
      process.stderr.write('left\n');
    }
  });
  s.bind(num('port', 47000), () => {
    if (group !== undefined) s.addMembership(group, ifaceAddr);
    process.stderr.write('ready\n');
    const report = () => {
      process.stdout.write(`${JSON.stringify({ packets, bytes, firstMs, lastMs, beforeLeave })}\n`);
      process.exit(0);
    };
    setTimeout(report, num('ms', 3000));
    // Not at once: a signal and queued datagrams can be ready in the same poll, the signal first;
    // 20 ms later every datagram that had arrived by the SIGTERM has been read and counted.
    process.on('SIGTERM', () => setTimeout(report, 20));
  });
}

function send() {
  const to = /^\[(.+)\]:(\d+)$/.exec(opts.get('to') ?? '') ?? /^([^:]+):(\d+)$/.exec(opts.get('to') ?? '');
  if (to === null) {
    process.stderr.write('udp-probe: --to HOST:PORT or [HOST]:PORT\n');
    process.exit(2);
  }
  const [, host, port] = to;
  const count = num('count', 100);
  const pps = num('pps', 0);
  const maxMs = num('max-ms', 5000);
  const payload = opts.has('hex') ? Buffer.from(opts.get('hex'), 'hex') : Buffer.alloc(num('size', 1000), 0x5a);
  const size = payload.length;
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  let sent = 0;
  let inFlight = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    const report = () => {
      process.stdout.write(`${JSON.stringify({ sent, bytes: sent * size, ms: elapsed() })}\n`);
      s.close();
    };
    // Let queued sends complete before closing.
    const wait = () => (inFlight === 0 ? report() : setTimeout(wait, 5));
    wait();
  };
  const one = () => {
    inFlight += 1;
    sent += 1;
    s.send(payload, Number(port), host, () => {
      inFlight -= 1;
      if (pps === 0) pump();
    });
  };
  const pump = () => {
    while (!done && inFlight < 64 && sent < count && elapsed() < maxMs) one();
    if (sent >= count || elapsed() >= maxMs) finish();
  };
  // IPv4 binds to the interface address; IPv6 names the interface in setMulticastInterface only.
  s.bind(0, host.includes(':') ? undefined : opts.get('iface-addr'), () => {
    s.setMulticastTTL(num('ttl', 1));
    if (opts.has('iface-addr')) s.setMulticastInterface(opts.get('iface-addr'));
    if (pps === 0) return pump();
    // Paced: every 10 ms, send what the schedule says is due.
    const timer = setInterval(() => {
      const due = Math.min(count, Math.floor((elapsed() * pps) / 1000) + 1);
      while (sent < due) one();
      if (sent >= count || elapsed() >= maxMs) {
        clearInterval(timer);
        finish();
      }
    }, 10);
  });
}

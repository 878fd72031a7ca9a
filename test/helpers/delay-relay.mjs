#!/usr/bin/env node
// One direction of a delayed link (test/helpers/delay-link.ts): receives UDP datagrams (the VXLAN
// frames of a TestNet receiver's link) and sends each one on after a fixed delay, in arrival
// order. This kernel has no sch_netem, so path delay comes from here (issue 5: "add it in a small
// userspace relay"). Plain JavaScript so it runs inside a namespace without a build.
//
//   delay-relay.mjs LISTEN_ADDR:PORT FORWARD_ADDR:PORT DELAY_MS
//       Prints "relaying" to stderr once bound; on SIGTERM prints {"frames":n,"bytes":n,"lateMaxMs":x}
//       (lateMaxMs: the most a frame left after its due time, i.e. the relay's own jitter).
//
// One timer for the head of a FIFO: with a fixed delay the due times are in arrival order, so
// frames never overtake each other (a real path reorders rarely; reordering is not what this adds).
//
// Checksums: the namespaces' veths offload TCP/UDP checksums (CHECKSUM_PARTIAL: the field holds
// only the pseudo-header sum until a "device" fills it in). Inside one kernel nobody ever does,
// which is fine until a frame leaves the kernel as bytes, as it does here: the receiving stack
// then drops it (TcpInCsumErrors). So the relay writes the real TCP/UDP checksum of every
// unfragmented IPv4/IPv6 packet it forwards, as the offloading NIC would have.
import dgram from 'node:dgram';

const [listen, forward, delayArg] = process.argv.slice(2);
const split = (s) => {
  const i = s.lastIndexOf(':');
  return { addr: s.slice(0, i), port: Number(s.slice(i + 1)) };
};
if (listen === undefined || forward === undefined || !(Number(delayArg) >= 0)) {
  process.stderr.write('usage: delay-relay.mjs LISTEN_ADDR:PORT FORWARD_ADDR:PORT DELAY_MS\n');
  process.exit(2);
}
const from = split(listen);
const to = split(forward);
const delay = Number(delayArg);

const queue = [];
let head = 0;
let timer;
let frames = 0;
let bytes = 0;
let lateMax = 0;

const sock = dgram.createSocket('udp4');
sock.on('error', (e) => {
  process.stderr.write(`delay-relay: ${e.message}\n`);
  process.exit(1);
});
sock.on('message', (msg) => {
  fixChecksum(msg);
  queue.push({ due: performance.now() + delay, msg });
  if (timer === undefined) arm();
});
sock.bind(from.port, from.addr, () => {
  // A 20 Mbit/s link holds ~2 MB over 40 ms of delay in flight; leave room for bursts.
  sock.setRecvBufferSize(8 << 20);
  sock.setSendBufferSize(8 << 20);
  process.stderr.write('relaying\n');
});

function arm() {
  timer = setTimeout(flush, Math.max(0, queue[head].due - performance.now()));
}

function flush() {
  timer = undefined;
  const now = performance.now();
  while (head < queue.length && queue[head].due <= now) {
    const { due, msg } = queue[head];
    queue[head++] = undefined;
    lateMax = Math.max(lateMax, now - due);
    frames++;
    bytes += msg.length;
    sock.send(msg, to.port, to.addr);
  }
  if (head > 4096 && head * 2 > queue.length) {
    queue.splice(0, head);
    head = 0;
  }
  if (head < queue.length) arm();
}

/** VXLAN header (8) + Ethernet header (14): where the IP packet starts. */
const IP_AT = 22;

function fixChecksum(frame) {
  if (frame.length < IP_AT + 40) return;
  const type = frame.readUInt16BE(IP_AT - 2);
  if (type === 0x0800) {
    const ihl = (frame[IP_AT] & 0xf) * 4;
    const total = frame.readUInt16BE(IP_AT + 2);
    if ((frame.readUInt16BE(IP_AT + 6) & 0x3fff) !== 0 || IP_AT + total > frame.length) return; // a fragment, or cut short
    const proto = frame[IP_AT + 9];
    const l4 = IP_AT + ihl;
    const len = total - ihl;
    const sum = sumWords(frame, IP_AT + 12, IP_AT + 20) + proto + len;
    writeL4(frame, proto, l4, len, sum, true);
  } else if (type === 0x86dd) {
    const len = frame.readUInt16BE(IP_AT + 4);
    const proto = frame[IP_AT + 6];
    if (IP_AT + 40 + len > frame.length) return;
    const sum = sumWords(frame, IP_AT + 8, IP_AT + 40) + proto + len;
    writeL4(frame, proto, IP_AT + 40, len, sum, false);
  }
}

/** TCP (6) or UDP (17): checksum over the pseudo-header sum and the segment. */
function writeL4(frame, proto, l4, len, pseudo, v4) {
  const at = proto === 6 ? l4 + 16 : proto === 17 ? l4 + 6 : -1;
  if (at < 0 || len < (proto === 6 ? 20 : 8)) return;
  if (proto === 17 && v4 && frame.readUInt16BE(at) === 0) return; // IPv4 UDP without a checksum
  frame.writeUInt16BE(0, at);
  let sum = pseudo + sumWords(frame, l4, l4 + len);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  frame.writeUInt16BE(proto === 17 && c === 0 ? 0xffff : c, at);
}

/** One's-complement sum of 16-bit words in [from, to), an odd last byte padded with zero. */
function sumWords(b, from, to) {
  let sum = 0;
  let i = from;
  for (; i + 1 < to; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < to) sum += b[i] << 8;
  return sum;
}

process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ frames, bytes, lateMaxMs: Math.round(lateMax * 10) / 10 })}\n`);
  process.exit(0);
});

#!/usr/bin/env node
// An attacker on the group, for the flexicast security test (runs inside a TestNet namespace):
// joins GROUP:PORT on IFACE_ADDR, captures the first CAPTURE sealed flow packets of epoch MIN_EPOCH
// or later, then, when a line arrives on stdin (the test writes one once the receivers under attack have joined the
// group), sends each captured packet back to the group REPLAYS times (replays), then FORGED
// packets that look like flow packets of a captured epoch with a fresh sequence number and random
// ciphertext (forgeries).
// The trigger comes from the test, not from a delay after the capture: the flow starts as soon as
// the sender runs, while receivers join only after their QUIC handshake and KEY, so on a loaded
// machine a delayed attack could land before they were listening (it did: 0 drops counted).
// MIN_EPOCH lets the test capture after a known key rotation: packets of an epoch the receivers
// have already retired are dropped as stale (FLEX_EPOCH) before their tag is even checked, so they
// would not test the tag and replay checks.
// Prints {"captured":n,"epoch":e,"replayed":n,"forged":n,"errors":n,"at":{...}} with Unix-ms times
// of the first capture, the trigger and the end. Gives up after DEADLINE ms.
//   flow-replay.mjs GROUP PORT IFACE_ADDR [CAPTURE=50] [REPLAYS=2] [FORGED=50] [DEADLINE=60000] [MIN_EPOCH=0]
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

const [group, port, iface, capture = '50', replays = '2', forged = '50', deadline = '60000', minEpoch = '0'] = process.argv.slice(2);
const want = Number(capture);
const rx = dgram.createSocket({ type: 'udp4', reuseAddr: true });
const tx = dgram.createSocket('udp4');
const got = [];
const at = {};
let triggered = false;
const done = (out) => {
  process.stdout.write(`${JSON.stringify({ ...out, at })}\n`);
  process.exit(0);
};
const capturedEpoch = () => (got.length > 0 ? got[0].readUInt32BE(1) : -1);
setTimeout(() => done({ captured: got.length, epoch: capturedEpoch(), replayed: 0, forged: 0, errors: 0 }), Number(deadline));
rx.on('message', (m) => {
  if (got.length >= want || m[0] !== 0xf1 || m.length < 11) return;
  const epoch = m.readUInt32BE(1);
  if (epoch < Number(minEpoch)) return;
  // One epoch per capture: should the key rotate mid-capture, start again on the newer epoch.
  if (got.length > 0 && epoch !== got[0].readUInt32BE(1)) got.length = 0;
  if (got.length === 0) at.firstCapture = Date.now();
  got.push(Buffer.from(m));
  if (got.length === want && triggered) void attack();
});
rx.bind(Number(port), () => rx.addMembership(group, iface));
tx.bind(0, iface, () => {
  tx.setMulticastInterface(iface);
  tx.setMulticastTTL(1);
});
process.stdin.once('data', () => {
  at.trigger = Date.now();
  triggered = true;
  if (got.length === want) void attack();
});
let errors = 0;
const send = (b) => new Promise((r) => tx.send(b, Number(port), group, (e) => { if (e) { errors++; process.stderr.write(`${e.message}\n`); } r(); }));
async function attack() {
  let replayed = 0;
  for (let r = 0; r < Number(replays); r++) for (const p of got) { await send(p); replayed++; }
  let n = 0;
  for (; n < Number(forged); n++) {
    const p = Buffer.from(got[n % got.length]);
    p.writeUIntBE(2 ** 40 + n, 5, 6); // a sequence number far ahead: passes the replay window, fails the tag
    randomBytes(p.length - 11).copy(p, 11);
    await send(p);
  }
  at.end = Date.now();
  done({ captured: got.length, epoch: capturedEpoch(), replayed, forged: n, errors });
}

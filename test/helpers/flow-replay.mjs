#!/usr/bin/env node
// An attacker on the group, for the flexicast security test (runs inside a TestNet namespace):
// joins GROUP:PORT on IFACE_ADDR, captures the first CAPTURE sealed flow packets, sends each back
// to the group REPLAYS times (replays), then FORGED packets that look like flow packets of a
// captured epoch with a fresh sequence number and random ciphertext (forgeries), DELAY ms after
// the capture (so receivers that join late are listening). Prints
// {"captured":n,"replayed":n,"forged":n,"errors":n}. Exits after at most 10 s.
//   flow-replay.mjs GROUP PORT IFACE_ADDR [CAPTURE=50] [REPLAYS=2] [FORGED=50] [DELAY=1500]
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

const [group, port, iface, capture = '50', replays = '2', forged = '50', delay = '1500'] = process.argv.slice(2);
const want = Number(capture);
const rx = dgram.createSocket({ type: 'udp4', reuseAddr: true });
const tx = dgram.createSocket('udp4');
const got = [];
const done = (out) => {
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
};
setTimeout(() => done({ captured: got.length, replayed: 0, forged: 0 }), 10_000);
rx.on('message', (m) => {
  if (got.length >= want || m[0] !== 0xf1) return;
  got.push(Buffer.from(m));
  if (got.length === want) setTimeout(() => void attack(), Number(delay));
});
rx.bind(Number(port), () => rx.addMembership(group, iface));
tx.bind(0, iface, () => {
  tx.setMulticastInterface(iface);
  tx.setMulticastTTL(1);
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
  done({ captured: got.length, replayed, forged: n, errors });
}

// The pause at a push session's pass change, seen from the wire: a 64 MB push (`fcast send`,
// --rate 1G, one cycle) to a group on 127.0.0.1 with TTL 0, a listener in this process stamping
// every datagram of the file object (TOI 2). Reports per run the time from the last source
// packet (ESI < 998: every block of the file has k 998-1000) to the first repair packet (ESI >=
// 1000), the source and repair passes' spans, source packets seen after the first repair one
// (0: the passes do not blend), the sender's wall time and the packets the listener got (it
// may drop some under load: its socket buffer is net.core.rmem_max). Builds alternate run by
// run; BUSY busy loops run beside each sender (a stand-in for the harness's receivers).
// Run: node bench/pass-gap.mjs RUNS BUSY BUILD_DIR... (e.g. 4 6 /tmp/base .; build each first)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const [runs, busy, ...builds] = [Number(process.argv[2] ?? 4), Number(process.argv[3] ?? 0), ...process.argv.slice(4)];
if (builds.length === 0) throw new Error('usage: node bench/pass-gap.mjs RUNS BUSY BUILD_DIR...');
const file = `/tmp/fcast-pass-gap-64M.bin`;
if (!existsSync(file)) writeFileSync(file, randomBytes(64 << 20));
const GROUP = '239.255.77.9';

/** [time ms, SBN, ESI] of every datagram of TOI 2 (LCT: HDR_LEN in byte 2, 32-bit TSI and TOI; the FEC payload ID follows the header). */
async function listen(port) {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: 64 << 20 });
  const rec = [];
  sock.on('message', (m) => {
    const t = performance.now();
    const hlen = m[2] * 4;
    if (m.length < hlen + 4 || m.readUInt32BE(12) !== 2) return;
    const id = m.readUInt32BE(hlen);
    rec.push([t, id >>> 20, id & 0xfffff]);
  });
  await new Promise((res) => sock.bind(port, res));
  sock.addMembership(GROUP, '127.0.0.1');
  return { sock, rec };
}

const gaps = new Map();
for (let r = 0; r < runs; r++) {
  for (const b of builds) {
    const port = 30_000 + Math.floor(Math.random() * 20_000);
    const { sock, rec } = await listen(port);
    const loops = Array.from({ length: busy }, () => spawn('node', ['-e', 'for(;;){}'], { stdio: 'ignore' }));
    const t0 = performance.now();
    const args = [`${b}/bin/run.js`, 'send', file, '--to', `${GROUP}:${port}`, '--iface', '127.0.0.1', '--ttl', '0', '--rate', '1G', '--cycles', '1', '--n1', '5'];
    await new Promise((res) => spawn('node', args, { stdio: 'ignore' }).on('exit', res));
    const wall = performance.now() - t0;
    for (const l of loops) l.kill();
    await new Promise((res) => setTimeout(res, 50));
    sock.close();
    let lastSource = 0;
    let firstRepair = Infinity;
    for (const [t, , esi] of rec) {
      if (esi < 998 && t < firstRepair) lastSource = t;
      else if (esi >= 1000 && t < firstRepair) firstRepair = t;
    }
    const late = rec.filter(([t, , esi]) => t > firstRepair && esi < 998).length;
    const gap = firstRepair - lastSource;
    gaps.set(b, [...(gaps.get(b) ?? []), gap]);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    console.log(`${b} run ${r}: gap ${gap.toFixed(1)} ms, source pass ${(lastSource - rec[0][0]).toFixed(0)} ms, repair pass ${(rec[rec.length - 1][0] - firstRepair).toFixed(0)} ms, source after first repair ${late}, wall ${wall.toFixed(0)} ms, got ${rec.length} (load ${load})`);
  }
}
for (const [b, g] of gaps) {
  const s = [...g].sort((x, y) => x - y);
  console.log(`${b}: gap median ${s[s.length >> 1].toFixed(1)} ms (${s.map((x) => x.toFixed(0)).join(' ')})`);
}

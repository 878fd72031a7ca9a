// Child of bench/send-cpu.ts: one counting receiver of the group (src/net/mcast-recv.ts, the
// receiver's own socket path), in its own process so its CPU is not the sender's.
// argv: GROUP PORT. Prints "ready" once joined; on any stdin line prints {"packets":n,"bytes":n}.
import { joinChannel } from '../src/net/mcast-recv.js';

const [group, portText] = process.argv.slice(2);
let packets = 0;
let bytes = 0;
const ch = await joinChannel({ group: group!, port: Number(portText), iface: '127.0.0.1' }, (b) => {
  packets++;
  bytes += b.length;
});
process.stdin.on('data', () => {
  process.stdout.write(`${JSON.stringify({ packets, bytes })}\n`);
  void ch.close().then(() => process.exit(0));
});
process.stdout.write('ready\n');

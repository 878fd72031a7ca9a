// Child-process receiver for the end-to-end tests (run with vite-node): receives GROUP:PORT on
// loopback into DIR and prints the ReceiveResult as one JSON line on stdout.
// argv: DIR GROUP PORT TIMEOUT_MS [keep-state]
import { FEC_SCHEMES } from '../../src/assembly/index.js';
import { receiveSession } from '../../src/net/receive-session.js';

const [dir, group, port, timeout, keep] = process.argv.slice(2);
const r = await receiveSession({
  dir: dir!,
  channels: [{ group: group!, port: Number(port) }],
  schemes: FEC_SCHEMES,
  iface: '127.0.0.1',
  timeoutMs: Number(timeout),
  keepState: keep === 'keep-state',
  // The resume test kills this receiver once its state file shows written blocks: flush every
  // second (the default is 5 s) so that happens early in the transfer.
  ...(keep === 'keep-state' ? { flushMs: 1000 } : {}),
});
process.stdout.write(`${JSON.stringify({ status: r.status, stats: r.stats, objects: r.objects, missing: r.missing, rss: process.memoryUsage().rss })}\n`);

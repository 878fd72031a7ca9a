// A bulk TCP flow for fairness runs (test/netns/webrc.test.ts, bench/webrc-fairness.ts): node -e
// scripts run inside a namespace, so they are strings, not modules.

/** TCP source: writes as fast as the connection takes for argv[2] ms (argv[1] = sink address, port 5201). */
export const TCP_SOURCE = `
const net = require('node:net');
const [host, ms] = [process.argv[1], Number(process.argv[2])];
const buf = Buffer.alloc(65536);
const s = net.connect(5201, host, () => {
  const end = Date.now() + ms;
  const pump = () => {
    while (Date.now() < end) if (!s.write(buf)) { s.once('drain', pump); return; }
    s.end();
  };
  pump();
});`;

// Child of bench/flexicast-cpu.ts: the receivers' side, so their CPU is not the sender's.
// argv: MODE N [QUIC_PORT SENDER_KEY]. udp: N sockets on 127.0.0.1 that count datagrams (prints
// their ports); quic: N QUIC clients that connect and read every DATA stream to its end.
// On any stdin line: prints {"packets":n,"bytes":n} and resets the counters.
import { createSocket } from 'node:dgram';
import { generateKeyPairSync } from 'node:crypto';
import { createQuicEndpoint } from '../src/net/quic.js';
import { identityFromPem, publicKeyFromText } from '../src/net/quic-identity.js';

const [mode, nText, portText, keyText] = process.argv.slice(2);
const n = Number(nText);
let packets = 0;
let bytes = 0;
process.stdin.on('data', () => {
  process.stdout.write(`${JSON.stringify({ packets, bytes })}\n`);
  packets = 0;
  bytes = 0;
});
if (mode === 'udp') {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
    s.on('message', (m) => { packets++; bytes += m.length; });
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    ports.push(s.address().port);
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`);
} else {
  const key = publicKeyFromText(keyText!);
  for (let i = 0; i < n; i++) {
    const ep = await createQuicEndpoint(identityFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()));
    const conn = await ep.connect('127.0.0.1', Number(portText), key);
    void (async () => {
      for (let a = await conn.acceptStream(); a !== undefined; a = await conn.acceptStream()) {
        const s = a.stream;
        void (async () => { for (let c = await s.read(); c !== undefined; c = await s.read()) bytes += c.length; packets++; })().catch(() => undefined);
      }
    })().catch(() => undefined);
  }
  process.stdout.write('[]\n');
}

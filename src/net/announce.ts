// HTTP announce endpoint for a session description (seed 002; RFC 5651 §6.1 leaves the transport
// of descriptions open): GET /.well-known/fcast/<session>.sdp (application/sdp, RFC 4566 §8) and
// .json (application/json). Read-only; anything else is 404, any method but GET/HEAD is 405.

import http from 'node:http';
import { isIP } from 'node:net';
import { LocalProtocolError } from '../errors.js';
import { encodeSdp, encodeSessionJson, sessionUrlPath, type SessionDescription } from '../wire/index.js';

export interface AnnounceServer {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly sdpUrl: string;
  readonly jsonUrl: string;
  close(): Promise<void>;
}

/** Parse HOST:PORT ([v6]:port for IPv6). Port 0 picks a free port. */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^\[([0-9A-Fa-f:.%a-z]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port > 65_535) throw new LocalProtocolError('USAGE', `--announce "${text}": expected HOST:PORT or [V6]:PORT`);
  return { host: m[1]!, port };
}

/** Serve `desc` until close(). */
export async function serveAnnounce(desc: SessionDescription, host: string, port: number): Promise<AnnounceServer> {
  const bodies = new Map<string, { type: string; body: string }>([
    [sessionUrlPath(desc.name, 'sdp'), { type: 'application/sdp', body: encodeSdp(desc) }],
    [sessionUrlPath(desc.name, 'json'), { type: 'application/json', body: encodeSessionJson(desc) }],
  ]);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const found = bodies.get(path);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (found === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    } else {
      res.writeHead(200, { 'content-type': found.type, 'content-length': Buffer.byteLength(found.body), 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : found.body);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
  const base = `http://${isIP(host) === 6 ? `[${host}]` : host}:${bound}`;
  return {
    url: base,
    sdpUrl: base + sessionUrlPath(desc.name, 'sdp'),
    jsonUrl: base + sessionUrlPath(desc.name, 'json'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

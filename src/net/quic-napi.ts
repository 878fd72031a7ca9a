// Our own typings of @chainsafe/libp2p-quic 1.1.8's native (napi-rs over quinn) layer, and its
// one loader. The package exports only a libp2p Transport; the napi classes live in
// dist/src/napi.js, which its `exports` map hides and which it types as `any`. So we find the
// installed package directory ourselves, import that file by path, and describe the subset we
// use here (taken from the package's rust/lib.rs and rust/config.rs at v1.1.8). The version is
// pinned in package.json; test/integration/quic.test.ts is the smoke test that catches drift.
// Only src/net/quic.ts imports this file.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FcastError } from '../errors.js';

export interface NapiConfigInit {
  /** libp2p PrivateKey protobuf (Ed25519: type 1, 64 bytes seed || public key). */
  privateKeyProto: Uint8Array;
  /** Ignored by 1.1.8 (the effective handshake timeout is maxIdleTimeout). */
  handshakeTimeout: number;
  maxIdleTimeout: number;
  keepAliveInterval: number;
  /** Concurrent bidirectional streams the peer may open (unidirectional streams are disabled). */
  maxConcurrentStreamLimit: number;
  maxStreamData: number;
  maxConnectionData: number;
  receiveBufferSize: number;
  sendBufferSize: number;
}

export interface NapiConfig {
  readonly __brand: 'QuinnConfig';
}

export interface NapiEndpointStats {
  readonly acceptedHandshakes: number;
  readonly outgoingHandshakes: number;
  readonly refusedHandshakes: number;
  readonly ignoredHandshakes: number;
}

export interface NapiConnectionStats {
  readonly udpTxDatagrams: number;
  readonly udpTxBytes: number;
  readonly udpRxDatagrams: number;
  readonly udpRxBytes: number;
  readonly pathRtt: number;
  readonly pathCwnd: number;
  readonly pathLostPackets: number;
  readonly pathSentPackets: number;
}

export interface NapiStream {
  id(): string;
  read(maxLen: number): Promise<Uint8Array | null>;
  write(data: Uint8Array): Promise<void>;
  finishWrite(): Promise<void>;
  resetWrite(): Promise<void>;
  stopRead(): Promise<void>;
}

export interface NapiConnection {
  inboundStream(): Promise<NapiStream>;
  outboundStream(): Promise<NapiStream>;
  /** Close at once (application close, code 0). */
  abort(): void;
  rtt(): number;
  id(): string;
  /** `/ip4/A/udp/P/quic-v1/p2p/<peer id>`: the peer id comes from its TLS certificate. */
  remoteMultiaddr(): string;
  closed(): Promise<void>;
  stats(): NapiConnectionStats;
}

export interface NapiServer {
  port(): number;
  inboundConnection(): Promise<NapiConnection>;
  abort(): Promise<void>;
  stats(): NapiEndpointStats;
}

export interface NapiClient {
  outboundConnection(ip: string, port: number): Promise<NapiConnection>;
  abort(): void;
  stats(): NapiEndpointStats;
}

export interface NapiModule {
  QuinnConfig: new (init: NapiConfigInit) => NapiConfig;
  Server: new (config: NapiConfig, ip: string, port: number) => NapiServer;
  /** family: 0 = IPv4, 1 = IPv6; binds an ephemeral port on the wildcard address. */
  Client: new (config: NapiConfig, family: 0 | 1) => NapiClient;
}

const PACKAGE = join('node_modules', '@chainsafe', 'libp2p-quic');

function findNapiJs(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, PACKAGE, 'dist', 'src', 'napi.js');
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  return undefined;
}

let loaded: Promise<NapiModule> | undefined;

/** The native QUIC classes; FLEX_QUIC when the package or its platform binary is missing. */
export function loadQuicNapi(): Promise<NapiModule> {
  loaded ??= (async () => {
    const path = findNapiJs();
    if (path === undefined) throw new FcastError('FLEX_QUIC', 'internal', '@chainsafe/libp2p-quic is not installed');
    try {
      return (await import(pathToFileURL(path).href)) as NapiModule;
    } catch (e) {
      throw new FcastError('FLEX_QUIC', 'internal', `cannot load ${path}: ${(e as Error).message}`, { cause: e });
    }
  })();
  return loaded;
}

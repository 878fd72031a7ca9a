// QUIC for the flexicast channel (issue 6; research/quic.md §1.4, §3): our own small interface,
// implemented over @chainsafe/libp2p-quic's native quinn layer (src/net/quic-napi.ts), so the
// library can be swapped (node:quic, a forked binding) without touching callers.
//
// Identities are Ed25519 keys (src/net/quic-identity.ts); TLS 1.3 runs with libp2p's
// self-signed certificates, so trust is by key, not by CA: a receiver pins the sender's key
// (session `senderKey`) and `connect` fails with FLEX_PEER_KEY before a byte is exchanged when
// the server is anyone else; the sender admits receivers by key and closes a connection from
// any other key as soon as its handshake completes, before it is handed to the application, so
// a non-admitted receiver never gets a stream, an ANNOUNCE or a flow key.
//
// Quirks of libp2p-quic 1.1.8 handled here:
//  * unidirectional streams are disabled in its transport config, so `openUni` is a
//    bidirectional stream whose reverse half is closed at once;
//  * quinn announces a new stream to the peer only with its first byte, so every stream starts
//    with one type byte (0xB1 bidirectional, 0xA1 unidirectional): the acceptor learns the
//    stream at once and knows its kind;
//  * its `handshakeTimeout` option is ignored, so `connect` enforces its own timeout;
//  * errors are plain `Error`s with quinn's text: we rethrow them as FcastError FLEX_QUIC.
import { FcastError, RemoteProtocolError, isFcastError } from '../errors.js';
import { publicKeyFromMultiaddr } from './quic-identity.js';
import type { QuicIdentity } from './quic-identity.js';
import { loadQuicNapi, type NapiClient, type NapiConfig, type NapiConnection, type NapiModule, type NapiServer, type NapiStream } from './quic-napi.js';

export type { QuicIdentity } from './quic-identity.js';

const STREAM_BI = 0xb1;
const STREAM_UNI = 0xa1;
/** Largest chunk one read returns (quinn allocates this much per call). */
const READ_CHUNK = 64 * 1024;

export interface QuicOptions {
  readonly maxIdleTimeoutMs?: number;
  readonly keepAliveIntervalMs?: number;
  /** Streams the peer may have open at once (fallback data uses one per block). */
  readonly maxStreams?: number;
  readonly maxStreamData?: number;
  readonly maxConnectionData?: number;
  readonly socketBufferBytes?: number;
  /** Time allowed for `connect` (handshake included). */
  readonly connectTimeoutMs?: number;
}

export interface QuicStats {
  readonly rttMs: number;
  readonly cwnd: number;
  readonly sentPackets: number;
  readonly lostPackets: number;
  readonly txBytes: number;
  readonly rxBytes: number;
}

export interface QuicRecvStream {
  readonly id: string;
  /** Next chunk (at most `max` bytes), or undefined at the end of the stream. */
  read(max?: number): Promise<Uint8Array | undefined>;
  /** Tell the peer we will read no more (STOP_SENDING). */
  stop(): Promise<void>;
}

export interface QuicSendStream {
  readonly id: string;
  /** Resolves when quinn has taken the bytes (flow control applies back-pressure here). */
  write(data: Uint8Array): Promise<void>;
  /** End the stream after what was written (FIN). */
  finish(): Promise<void>;
  /** Abandon the stream (RESET_STREAM): e.g. the block was decoded meanwhile. */
  reset(): Promise<void>;
}

export interface QuicStream extends QuicRecvStream, QuicSendStream {}

export type AcceptedStream =
  | { readonly kind: 'bi'; readonly stream: QuicStream }
  | { readonly kind: 'uni'; readonly stream: QuicRecvStream };

export interface QuicConnection {
  /** The peer's raw Ed25519 public key, proven by its TLS handshake. */
  readonly remoteKey: Uint8Array;
  readonly remoteAddress: string;
  readonly remotePort: number;
  openBi(): Promise<QuicStream>;
  openUni(): Promise<QuicSendStream>;
  /** The next stream the peer opened, or undefined once the connection is closed. */
  acceptStream(): Promise<AcceptedStream | undefined>;
  /** Close at once; pending reads and writes fail with FLEX_QUIC. */
  close(): void;
  /** Resolves when the connection is closed by either side or times out. */
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
  stats(): QuicStats;
}

export interface QuicListenerStats {
  readonly admitted: number;
  /** Handshakes from keys the admit function refused. */
  readonly refused: number;
  /** Handshakes that failed or ended before completing. */
  readonly failed: number;
  readonly open: number;
}

export interface QuicListener {
  readonly port: number;
  /** The next admitted connection, or undefined once the listener is closed. */
  accept(): Promise<QuicConnection | undefined>;
  close(): Promise<void>;
  stats(): QuicListenerStats;
}

export interface QuicEndpoint {
  readonly publicKey: Uint8Array;
  /** Listen on host:port (port 0 = any); only connections whose key `admit` accepts come out. */
  listen(host: string, port: number, admit: (key: Uint8Array) => boolean): Promise<QuicListener>;
  /** Connect to host:port and require the server to prove `expectKey` (FLEX_PEER_KEY otherwise). */
  connect(host: string, port: number, expectKey: Uint8Array): Promise<QuicConnection>;
  /** Close every client socket and connection this endpoint made (listeners close on their own). */
  close(): void;
}

function quicError(e: unknown, what: string): FcastError {
  if (isFcastError(e)) return e;
  return new FcastError('FLEX_QUIC', 'io', `${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

class Stream implements QuicStream {
  constructor(private readonly s: NapiStream, readonly id: string) {}

  async read(max = READ_CHUNK): Promise<Uint8Array | undefined> {
    try {
      return (await this.s.read(Math.max(1, Math.min(max, READ_CHUNK)))) ?? undefined;
    } catch (e) {
      throw quicError(e, `read on stream ${this.id}`);
    }
  }

  async write(data: Uint8Array): Promise<void> {
    try {
      await this.s.write(data);
    } catch (e) {
      throw quicError(e, `write on stream ${this.id}`);
    }
  }

  finish(): Promise<void> {
    return this.s.finishWrite();
  }

  reset(): Promise<void> {
    return this.s.resetWrite();
  }

  stop(): Promise<void> {
    return this.s.stopRead();
  }
}

class Connection implements QuicConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly closed: Promise<void>;
  private done = false;

  constructor(private readonly c: NapiConnection, readonly remoteKey: Uint8Array, private readonly onClose?: () => void) {
    const m = /^\/ip[46]\/([^/]+)\/udp\/(\d+)\//.exec(c.remoteMultiaddr());
    this.remoteAddress = m?.[1] ?? '';
    this.remotePort = Number(m?.[2] ?? 0);
    this.closed = c.closed().then(
      () => this.markClosed(),
      () => this.markClosed(),
    );
  }

  get isClosed(): boolean {
    return this.done;
  }

  private markClosed(): void {
    if (this.done) return;
    this.done = true;
    this.onClose?.();
  }

  private async open(kind: number): Promise<Stream> {
    try {
      const s = await this.c.outboundStream();
      const stream = new Stream(s, s.id());
      await stream.write(Uint8Array.of(kind));
      return stream;
    } catch (e) {
      throw quicError(e, 'open stream');
    }
  }

  openBi(): Promise<QuicStream> {
    return this.open(STREAM_BI);
  }

  async openUni(): Promise<QuicSendStream> {
    const s = await this.open(STREAM_UNI);
    // The reverse half is never used: tell the peer so at once.
    void s.stop();
    return s;
  }

  async acceptStream(): Promise<AcceptedStream | undefined> {
    for (;;) {
      let s: NapiStream;
      try {
        s = await this.c.inboundStream();
      } catch {
        // quinn's accept fails only when the connection is gone (closed, timed out, reset).
        this.markClosed();
        return undefined;
      }
      const stream = new Stream(s, s.id());
      let kind: Uint8Array | undefined;
      try {
        kind = await stream.read(1);
      } catch {
        continue; // reset before its type byte: nothing to hand out
      }
      if (kind?.[0] === STREAM_BI) return { kind: 'bi', stream };
      if (kind?.[0] === STREAM_UNI) {
        void stream.finish();
        return { kind: 'uni', stream };
      }
      // Not one of ours: refuse it and keep accepting.
      void stream.stop();
      void stream.reset();
    }
  }

  close(): void {
    this.c.abort();
    this.markClosed();
  }

  stats(): QuicStats {
    const s = this.c.stats();
    return {
      rttMs: s.pathRtt, cwnd: s.pathCwnd, sentPackets: s.pathSentPackets, lostPackets: s.pathLostPackets,
      txBytes: s.udpTxBytes, rxBytes: s.udpRxBytes,
    };
  }
}

/** Handshakes the listener completes at once: one stalled client cannot hold up the others. */
const PARALLEL_HANDSHAKES = 4;
/** Admitted connections held for `accept` before the listener stops taking handshakes. */
const MAX_QUEUED = 64;

class Listener implements QuicListener {
  private admitted = 0;
  private refused = 0;
  private failed = 0;
  private closing = false;
  private pumps = 0;
  private readonly conns = new Set<Connection>();
  private readonly queue: Connection[] = [];
  private readonly waiters: Array<(c: Connection | undefined) => void> = [];

  constructor(private readonly server: NapiServer, private readonly admit: (key: Uint8Array) => boolean) {}

  get port(): number {
    return this.server.port();
  }

  accept(): Promise<QuicConnection | undefined> {
    const c = this.queue.shift();
    this.fillPumps();
    if (c !== undefined) return Promise.resolve(c);
    if (this.closing) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private fillPumps(): void {
    while (!this.closing && this.pumps < PARALLEL_HANDSHAKES && this.queue.length < MAX_QUEUED) {
      this.pumps++;
      void this.pump().finally(() => this.pumps--);
    }
  }

  private async pump(): Promise<void> {
    while (!this.closing && this.queue.length < MAX_QUEUED) {
      const c = await this.handshake();
      if (c === undefined) continue;
      const w = this.waiters.shift();
      if (w !== undefined) w(c);
      else this.queue.push(c);
    }
  }

  /** One completed handshake: an admitted connection, or undefined (refused, failed, closing). */
  private async handshake(): Promise<Connection | undefined> {
    let c: NapiConnection;
    try {
      c = await this.server.inboundConnection();
    } catch {
      if (!this.closing) this.failed++;
      return undefined;
    }
    let key: Uint8Array | undefined;
    try {
      key = publicKeyFromMultiaddr(c.remoteMultiaddr());
    } catch {
      key = undefined;
    }
    if (this.closing || key === undefined || !this.admit(key)) {
      // Refused right after the handshake: the connection never reaches the application.
      c.abort();
      if (!this.closing) this.refused++;
      return undefined;
    }
    this.admitted++;
    const conn: Connection = new Connection(c, key, () => this.conns.delete(conn));
    this.conns.add(conn);
    return conn;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const w of this.waiters.splice(0)) w(undefined);
    this.queue.length = 0;
    for (const c of [...this.conns]) c.close();
    await this.server.abort();
  }

  stats(): QuicListenerStats {
    return { admitted: this.admitted, refused: this.refused, failed: this.failed, open: this.conns.size };
  }
}

class Endpoint implements QuicEndpoint {
  private readonly clients: Partial<Record<0 | 1, NapiClient>> = {};
  private readonly conns = new Set<Connection>();

  constructor(
    private readonly napi: NapiModule,
    private readonly config: NapiConfig,
    readonly publicKey: Uint8Array,
    private readonly connectTimeoutMs: number,
  ) {}

  async listen(host: string, port: number, admit: (key: Uint8Array) => boolean): Promise<QuicListener> {
    try {
      return new Listener(new this.napi.Server(this.config, host, port), admit);
    } catch (e) {
      throw quicError(e, `listen on ${host}:${port}`);
    }
  }

  async connect(host: string, port: number, expectKey: Uint8Array): Promise<QuicConnection> {
    const family = host.includes(':') ? 1 : 0;
    let client = this.clients[family];
    if (client === undefined) {
      try {
        client = new this.napi.Client(this.config, family);
      } catch (e) {
        throw quicError(e, 'open client socket');
      }
      this.clients[family] = client;
    }
    const dial = client.outboundConnection(host, port);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FcastError('TIMEOUT', 'io', `QUIC connect to ${host}:${port}`)), this.connectTimeoutMs);
    });
    let c: NapiConnection;
    try {
      c = await Promise.race([dial, timeout]);
    } catch (e) {
      // A handshake that completes after we gave up is closed at once.
      dial.then((late) => late.abort(), () => undefined);
      throw quicError(e, `connect to ${host}:${port}`);
    } finally {
      clearTimeout(timer);
    }
    let key: Uint8Array;
    try {
      key = publicKeyFromMultiaddr(c.remoteMultiaddr());
    } catch (e) {
      c.abort();
      throw e;
    }
    if (!sameKey(key, expectKey)) {
      c.abort();
      throw new RemoteProtocolError('FLEX_PEER_KEY', `${host}:${port} is ${Buffer.from(key).toString('base64url')}`);
    }
    const conn: Connection = new Connection(c, key, () => this.conns.delete(conn));
    this.conns.add(conn);
    return conn;
  }

  close(): void {
    for (const c of [...this.conns]) c.close();
    for (const f of [0, 1] as const) {
      this.clients[f]?.abort();
      delete this.clients[f];
    }
  }
}

/** A QUIC endpoint with this identity: listen as the sender, connect as a receiver. */
export async function createQuicEndpoint(identity: QuicIdentity, options: QuicOptions = {}): Promise<QuicEndpoint> {
  const napi = await loadQuicNapi();
  const idle = options.maxIdleTimeoutMs ?? 10_000;
  let config: NapiConfig;
  try {
    config = new napi.QuinnConfig({
      privateKeyProto: identity.privateKeyProto,
      handshakeTimeout: options.connectTimeoutMs ?? 5_000,
      maxIdleTimeout: idle,
      keepAliveInterval: options.keepAliveIntervalMs ?? Math.floor(idle / 3),
      maxConcurrentStreamLimit: options.maxStreams ?? 1024,
      maxStreamData: options.maxStreamData ?? 16_000_000,
      maxConnectionData: options.maxConnectionData ?? 32_000_000,
      receiveBufferSize: options.socketBufferBytes ?? 2_000_000,
      sendBufferSize: options.socketBufferBytes ?? 2_000_000,
    });
  } catch (e) {
    throw quicError(e, 'QUIC configuration');
  }
  return new Endpoint(napi, config, identity.publicKey, options.connectTimeoutMs ?? 5_000);
}

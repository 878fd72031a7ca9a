// Flexicast frames on QUIC streams (research/quic.md §3.2): the control stream is the first
// bidirectional stream, opened by the receiver, carrying ANNOUNCE / KEY / STATE / REPORT in
// order; fallback DATA goes on short unidirectional streams opened by the sender, one per grant
// of (toi, sbn), so a slow block never holds up another.
import { encodeFrame, encodeFrameInto, frameSize, FrameDecoder, type DataMessage, type FlexMessage } from '../wire/flexicast.js';
import type { QuicConnection, QuicRecvStream, QuicSendStream } from './quic.js';

/**
 * QUIC idle timeout of a flexicast control connection, the same at both ends (keep-alives every
 * third of it). QUIC uses the smaller of the two ends' values (RFC 9000 §10.1), so one end
 * configured longer changed nothing but what it appeared to promise; with one value both ends see
 * a silent path at the same moment: the receiver redials (src/net/flex-receiver.ts) and the
 * sender starts its reconnect grace (src/net/flex-sender.ts RECONNECT_GRACE_MS) together.
 * Measured on loopback, a receiver killed with SIGKILL: the sender's connection closed 5.0 s
 * later with this value at both ends, and with 10 s at the sender and 5 s at the receiver alike.
 */
export const CONTROL_IDLE_TIMEOUT_MS = 5000;

/** Per stream, the last write queued (never rejects): the next one starts after it. */
const lastWrite = new WeakMap<QuicSendStream, Promise<void>>();
const ignore = (): void => undefined;

/**
 * Write one frame after every frame written before it on this stream. Two writes in flight at
 * once reach quinn's stream lock in whatever order the napi runtime's threads take them, not
 * in call order: a receiver's last REPORT (its completed file) went out after its LEAVE, the
 * sender had already dropped the member and ignored the report, and a push session waiting
 * for its receivers sent all its cycles (send-early-end, 3 runs in 20, logged on both ends).
 */
export function writeFrame(stream: QuicSendStream, m: FlexMessage): Promise<void> {
  const bytes = encodeFrame(m);
  const write = (): Promise<void> => stream.write(bytes);
  const before = lastWrite.get(stream);
  const done = before === undefined ? write() : before.then(write);
  lastWrite.set(stream, done.then(ignore, ignore));
  return done;
}

/**
 * The frames arriving on a stream, in order, until it ends. A malformed frame throws its
 * RemoteProtocolError (FLEX_* / WIRE_*): the stream is out of sync then, so the caller should
 * close the connection.
 */
export async function* readFrames(stream: QuicRecvStream): AsyncGenerator<FlexMessage> {
  const d = new FrameDecoder();
  for (let chunk = await stream.read(); chunk !== undefined; chunk = await stream.read()) {
    d.push(chunk);
    for (let m = d.poll(); m !== undefined; m = d.poll()) yield m;
  }
}

/**
 * Send DATA frames of one grant on a fresh unidirectional stream and finish it. The frames are
 * coalesced into writes of about 64 KiB so a grant costs a few napi calls, not one per symbol.
 */
export async function sendDataStream(conn: QuicConnection, frames: Iterable<DataMessage>): Promise<QuicSendStream> {
  const s = await conn.openUni();
  const CHUNK = 64 * 1024;
  let buf = new Uint8Array(CHUNK);
  let used = 0;
  for (const f of frames) {
    const n = frameSize(f);
    if (used + n > buf.length && used > 0) {
      await s.write(buf.subarray(0, used));
      buf = new Uint8Array(Math.max(CHUNK, n));
      used = 0;
    }
    if (n > buf.length) buf = new Uint8Array(n);
    used += encodeFrameInto(f, buf, used);
  }
  if (used > 0) await s.write(buf.subarray(0, used));
  await s.finish();
  return s;
}

// `fcast doctor SESSION` for a session naming a flexicast endpoint (issue 6): can this machine
// reach the sender's QUIC endpoint, and does the endpoint prove the pinned sender key? Connects
// with the receiver's identity (`--key`) or, without one, a throwaway Ed25519 identity (so
// nothing of this machine's enrolment is needed); a sender with an allow-list then refuses that
// key, which is fine: the handshake already proved reachability and the sender's identity.
// When the sender admits the key, its ANNOUNCE names the flow's channels: they go into
// ctx.learned, so the session-flow check (run after this one) can count flow packets even for
// an fcast:// URL, which names no channel. Doctor never sends JOIN, so it never gets a flow key
// and its leaving makes the sender rotate nothing.
import { generateKeyPairSync } from 'node:crypto';
import { isFcastError } from '../errors.js';
import { createQuicEndpoint, type QuicConnection } from '../net/quic.js';
import { readFrames } from '../net/quic-control.js';
import { identityFromPem, publicKeyFromText } from '../net/quic-identity.js';
import type { AnnounceMessage } from '../wire/flexicast.js';
import type { CheckOutcome, DoctorContext } from './doctor.js';

export const QUIC_CHECK_MS = 8000;
/** How long an admitted connection has to deliver ANNOUNCE. */
const ANNOUNCE_MS = 2000;

/** ANNOUNCE on a control stream we open, or undefined when the sender closes instead (not admitted) or is silent. */
async function announceOf(conn: QuicConnection): Promise<AnnounceMessage | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const quiet = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ANNOUNCE_MS)));
  const first = (async () => {
    const control = await conn.openBi();
    for await (const m of readFrames(control)) if (m.kind === 'announce') return m;
    return undefined;
  })().catch(() => undefined);
  try {
    return await Promise.race([first, quiet]);
  } finally {
    clearTimeout(timer);
  }
}

export async function checkQuic(ctx: DoctorContext): Promise<CheckOutcome> {
  const f = ctx.flow?.flexicast;
  if (f === undefined) return { ok: false, detail: 'the session names no flexicast endpoint' };
  const where = `${f.host}:${f.port}`;
  if (f.senderKey === undefined) return { ok: false, detail: `${where}: no sender key to pin (add ?key=<base64url> to the fcast:// URL)`, why: 'no sender key' };
  const expect = publicKeyFromText(f.senderKey);
  const identity = ctx.identity ?? identityFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const ep = await createQuicEndpoint(identity, { connectTimeoutMs: QUIC_CHECK_MS - ANNOUNCE_MS - 1000 });
  const t0 = performance.now();
  try {
    const conn = await ep.connect(f.host, f.port, expect);
    const ms = Math.round(performance.now() - t0);
    const rtt = conn.stats().rttMs;
    const a = await announceOf(conn);
    conn.close();
    const detail = `QUIC to ${where} in ${ms} ms (RTT ${rtt.toFixed(1)} ms), sender key verified`;
    const data = { endpoint: where, handshakeMs: ms, rttMs: rtt, admitted: a !== undefined };
    if (a === undefined) {
      const who = ctx.identity === undefined ? 'a throwaway key (give --key FILE of an admitted receiver' : 'this --key (not on the sender\'s allow-list?';
      return { ok: true, detail: `${detail}; no ANNOUNCE for ${who} to check the flow too)`, data };
    }
    if (ctx.learned !== undefined) ctx.learned.channels = a.channels.map((c) => ({ group: c.address, port: c.port }));
    const fcMsg = a.fcMsg === 'off' ? '' : `, FC-msg ${a.fcMsg} at ${a.flowAddress}:${a.flowPort}`;
    return { ok: true, detail: `${detail}; admitted: flow on ${a.channels.map((c) => `${c.address}:${c.port}`).join(', ')}${fcMsg}`, data: { ...data, fcMsg: a.fcMsg } };
  } catch (e) {
    const code = isFcastError(e) ? e.code : 'INTERNAL';
    const why = code === 'FLEX_PEER_KEY' ? 'another key answers' : code === 'TIMEOUT' ? 'no QUIC answer' : 'QUIC failed';
    const hint = code === 'FLEX_PEER_KEY' ? ': wrong or stale session description?' : code === 'TIMEOUT' ? ': is UDP to that port blocked, or the sender not running?' : '';
    return { ok: false, detail: `${where}: ${(e as Error).message}${hint}`, why, data: { endpoint: where, code } };
  } finally {
    ep.close();
  }
}

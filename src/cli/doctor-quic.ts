// `fcast doctor SESSION` for a session naming a flexicast endpoint (issue 6): can this machine
// reach the sender's QUIC endpoint, and does the endpoint prove the pinned sender key? Connects
// with a throwaway Ed25519 identity (so nothing of this machine's enrolment is needed); the sender
// then normally refuses that key, which is fine: the handshake already proved reachability and
// the sender's identity.
import { generateKeyPairSync } from 'node:crypto';
import { isFcastError } from '../errors.js';
import { createQuicEndpoint } from '../net/quic.js';
import { identityFromPem, publicKeyFromText } from '../net/quic-identity.js';
import type { CheckOutcome, DoctorContext } from './doctor.js';

export const QUIC_CHECK_MS = 8000;

export async function checkQuic(ctx: DoctorContext): Promise<CheckOutcome> {
  const f = ctx.flow?.flexicast;
  if (f === undefined) return { ok: false, detail: 'the session names no flexicast endpoint' };
  const where = `${f.host}:${f.port}`;
  if (f.senderKey === undefined) return { ok: false, detail: `${where}: no sender key to pin (add ?key=<base64url> to the fcast:// URL)`, why: 'no sender key' };
  const expect = publicKeyFromText(f.senderKey);
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const ep = await createQuicEndpoint(identityFromPem(pem), { connectTimeoutMs: QUIC_CHECK_MS - 1000 });
  const t0 = performance.now();
  try {
    const conn = await ep.connect(f.host, f.port, expect);
    const ms = Math.round(performance.now() - t0);
    const rtt = conn.stats().rttMs;
    conn.close();
    return { ok: true, detail: `QUIC to ${where} in ${ms} ms (RTT ${rtt.toFixed(1)} ms), sender key verified`, data: { endpoint: where, handshakeMs: ms, rttMs: rtt } };
  } catch (e) {
    const code = isFcastError(e) ? e.code : 'INTERNAL';
    const why = code === 'FLEX_PEER_KEY' ? 'another key answers' : code === 'TIMEOUT' ? 'no QUIC answer' : 'QUIC failed';
    const hint = code === 'FLEX_PEER_KEY' ? ': wrong or stale session description?' : code === 'TIMEOUT' ? ': is UDP to that port blocked, or the sender not running?' : '';
    return { ok: false, detail: `${where}: ${(e as Error).message}${hint}`, why, data: { endpoint: where, code } };
  } finally {
    ep.close();
  }
}

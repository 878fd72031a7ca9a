// The flexicast foundation end to end over real QUIC on 127.0.0.1, in real (bounded) time: the
// sender's FlexController drives an admitted receiver through ANNOUNCE, JOIN, KEY, LISTENING;
// when the receiver's flow progress stops it falls back within D_fb + one report interval, gets
// DATA for exactly the block it lacks on unidirectional streams, and returns when progress resumes.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { FlexController, FlowOpener, FlowSealer, deriveFlowKey, type ControllerAction } from '../../src/flexicast/index.js';
import { createQuicEndpoint, type QuicConnection, type QuicStream } from '../../src/net/quic.js';
import { readFrames, sendDataStream, writeFrame } from '../../src/net/quic-control.js';
import { identityFromPem } from '../../src/net/quic-identity.js';
import type { AnnounceMessage, DataMessage, FlexMessage, StateMessage } from '../../src/wire/flexicast.js';
import { StallMeter } from '../helpers/wait.js';

const R = 50;
// fcast's default D_fb. The sender and the receiver share this process's event loop: a stall
// longer than D_fb - R before the cut stops the receiver's reports as a real cut would, and the
// sender rightly falls back. At 200 ms a 150 ms stall did that; CI has seen 500 ms stalls.
const DFB = 1000;
const announce: AnnounceMessage = {
  kind: 'announce', flowId: 9, tsi: 77, cipher: 1, source: '127.0.0.1', channels: [{ address: '239.255.0.9', port: 40009 }],
  fcMsg: 'off', flowAddress: '0.0.0.0', flowPort: 0, fecEncodingId: 3, fecInstanceId: 0, symbolSize: 1000, maxSourceBlockLength: 200, maxEncodingSymbols: 400,
  rateBps: 0, reportIntervalMs: R, dFbMs: DFB,
};
const identity = () => identityFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const cleanup: Array<() => unknown> = [];
/** Background read loops end with FLEX_QUIC when the test closes the connection: expected. */
const background = (p: Promise<unknown>) => void p.catch((e: { code?: string }) => { if (e.code !== 'FLEX_QUIC') throw e; });
afterAll(async () => { for (const f of cleanup.reverse()) await f(); });

describe('flexicast over QUIC', () => {
  it('join, key, fallback with unicast DATA for the missing block, and return', async () => {
    const senderId = identity();
    const receiverId = identity();
    const t0 = performance.now();
    const now = () => performance.now() - t0;

    // ---- sender shell: controller + QUIC listener -------------------------------------------
    const ctl = new FlexController({ announce, unicastBudgetBytesPerSec: 20_000_000, keyLeadMs: 20 });
    const sep = await createQuicEndpoint(senderId);
    const listener = await sep.listen('127.0.0.1', 0, (k) => Buffer.from(k).equals(Buffer.from(receiverId.publicKey)));
    cleanup.push(() => listener.close(), () => sep.close());
    const controls = new Map<string, { conn: QuicConnection; control: QuicStream }>();
    const events: Array<{ t: number; a: ControllerAction }> = [];
    let nextEsi = 0;
    const drive = () => {
      for (let a = ctl.poll(); a !== undefined; a = ctl.poll()) {
        events.push({ t: now(), a });
        const r = a.kind === 'send' || a.kind === 'unicast' ? controls.get(a.receiver) : undefined;
        if (a.kind === 'send') void writeFrame(r!.control, a.message);
        if (a.kind === 'unicast') {
          const frames: DataMessage[] = Array.from({ length: a.symbols }, () => ({ kind: 'data', toi: a.toi, sbn: a.sbn, esi: nextEsi++, symbol: new Uint8Array(1000).fill(nextEsi & 0xff) }));
          void sendDataStream(r!.conn, frames);
        }
      }
    };
    background((async () => {
      const conn = await listener.accept();
      const first = await conn!.acceptStream();
      if (first?.kind !== 'bi') throw new Error('control stream expected');
      controls.set('rx', { conn: conn!, control: first.stream });
      ctl.addReceiver(now(), 'rx');
      drive();
      for await (const m of readFrames(first.stream)) {
        if (m.kind === 'state') ctl.handleState(now(), 'rx', m);
        if (m.kind === 'report') ctl.handleReport(now(), 'rx', m);
        drive();
      }
    })());
    let flowOn = false;
    const tick = setInterval(() => {
      if (flowOn) ctl.noteFlowSent(now(), 1);
      const due = ctl.nextTimeout();
      if (due !== undefined && due <= now()) ctl.handleTimeout(now());
      drive();
    }, 2);
    cleanup.push(() => clearInterval(tick));

    // ---- receiver shell ---------------------------------------------------------------------
    const rep = await createQuicEndpoint(receiverId);
    cleanup.push(() => rep.close());
    const conn = await rep.connect('127.0.0.1', listener.port, senderId.publicKey);
    const control = await conn.openBi();
    const opener = new FlowOpener();
    const got: FlexMessage[] = [];
    const states: Array<{ t: number; action: StateMessage['action'] }> = [];
    let multicastWorks = true;
    let seen = 0;
    let needed = 150;
    let received = 0;
    let dataFrames = 0;
    background((async () => {
      for await (const m of readFrames(control)) {
        got.push(m);
        if (m.kind === 'announce') await writeFrame(control, { kind: 'state', flowId: m.flowId, action: 'join', origin: 'receiver' });
        if (m.kind === 'key') {
          opener.install(deriveFlowKey(m.flowId, m.epoch, m.secret.slice()));
          if (m.epoch === 0) await writeFrame(control, { kind: 'state', flowId: m.flowId, action: 'listening', origin: 'receiver' });
        }
        if (m.kind === 'state') states.push({ t: now(), action: m.action });
      }
    })());
    background((async () => {
      for (let a = await conn.acceptStream(); a !== undefined; a = await conn.acceptStream()) {
        background((async () => {
          for await (const m of readFrames(a.stream)) if (m.kind === 'data' && m.symbol.length === 1000) { dataFrames++; received++; needed = Math.max(0, needed - 1); }
        })());
      }
    })());
    let seq = 0;
    const reporter = setInterval(() => {
      if (multicastWorks && flowOn) seen += 10;
      void writeFrame(control, { kind: 'report', flowId: 9, seq: seq++, packetsSeen: [seen], needs: needed > 0 ? [{ toi: 1, sbn: 0, needed, received }] : [], completed: [] });
    }, R);
    cleanup.push(() => clearInterval(reporter));

    const until = async (f: () => boolean, ms: number) => {
      const end = performance.now() + ms;
      while (!f()) { if (performance.now() > end) throw new Error('timed out'); await new Promise((r) => setTimeout(r, 2)); }
    };
    await until(() => ctl.stateOf('rx') === 'listening', 2000);
    expect(got.map((m) => m.kind)).toEqual(['announce', 'key']);
    // The key the receiver got opens the flow the sender seals.
    const sealer = new FlowSealer(deriveFlowKey(9, ctl.flowKey.epoch, ctl.flowKey.secret));
    expect(Buffer.from(opener.open(sealer.seal(Uint8Array.of(1, 2, 3))) ?? []).toString('hex')).toBe('010203');

    flowOn = true;
    await new Promise((r) => setTimeout(r, 300));
    expect(states).toEqual([]);
    const stalls = new StallMeter();
    cleanup.push(() => stalls.stop());
    const cut = now();
    const stalledAtCut = stalls.ms();
    multicastWorks = false;
    await until(() => states.length === 1, 3000);
    expect(states[0]!.action).toBe('fallback');
    const fallbackMs = states[0]!.t - cut;
    const fallbackStalled = stalls.ms() - stalledAtCut;
    await until(() => needed === 0, 3000);
    const repair = now();
    const stalledAtRepair = stalls.ms();
    multicastWorks = true;
    await until(() => states.length === 2, 3000);
    expect(states[1]!.action).toBe('return');
    const returnMs = states[1]!.t - repair;
    const returnStalled = stalls.ms() - stalledAtRepair;
    console.log(`flexicast over QUIC: fallback after ${fallbackMs.toFixed(0)} ms (D_fb ${DFB} + R ${R}; event loop stalled ${fallbackStalled.toFixed(0)} ms meanwhile), return after ${returnMs.toFixed(0)} ms (stalled ${returnStalled.toFixed(0)} ms), ${dataFrames} DATA frames for a need of 150`);
    // Real timers on a shared machine wobble: allow 250 ms of scheduling slack (the exact bounds
    // are checked in virtual time in test/unit/flexicast/controller.test.ts), plus the time this
    // process's event loop did not run in the window: the reporter, the control stream and the
    // controller's timer all live in it, and stopped with it (a loaded CI machine stops it for
    // 500 ms and more; session 5's CI runs, with D_fb 200, measured 191-199 ms and 31-40 ms).
    expect(fallbackMs).toBeLessThanOrEqual(DFB + R + 250 + fallbackStalled);
    expect(returnMs).toBeLessThanOrEqual(R + 250 + returnStalled);
    expect(dataFrames).toBeGreaterThanOrEqual(150);
    // Exact in-flight accounting: the first grant covers the need with its margin, nothing more.
    expect(dataFrames).toBe(Math.ceil(150 * 1.1) + 2);
    flowOn = false;
    conn.close();
  }, 20_000);
});

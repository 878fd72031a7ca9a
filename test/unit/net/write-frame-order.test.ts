// Frames written on one QUIC stream arrive in the order they were written (src/net/quic-control.ts
// writeFrame). The napi QUIC binding runs each write on its own runtime task, so two writes in
// flight at once may take the stream in either order: a flexicast receiver's last REPORT (its
// completed file) landed after its LEAVE, and the sender ignored it. The fake stream below takes
// a write's bytes only when that write completes, after a delay that is shorter for later
// writes, as such a runtime may; a REPORT-then-LEAVE pair and a burst of frames must still come
// out in call order.
import { describe, expect, it } from 'vitest';
import { writeFrame } from '../../../src/net/quic-control.js';
import type { QuicSendStream } from '../../../src/net/quic.js';
import { FrameDecoder, type FlexMessage } from '../../../src/wire/flexicast.js';

function racingStream(): { stream: QuicSendStream; frames: () => FlexMessage[] } {
  const d = new FrameDecoder();
  let calls = 0;
  const stream: QuicSendStream = {
    id: 'fake',
    write: (data: Uint8Array) => {
      const delay = Math.max(0, 20 - 5 * calls++);
      return new Promise<void>((resolve) => setTimeout(() => {
        d.push(data);
        resolve();
      }, delay));
    },
    finish: () => Promise.resolve(),
    reset: () => Promise.resolve(),
  };
  return {
    stream,
    frames: () => {
      const out: FlexMessage[] = [];
      for (let m = d.poll(); m !== undefined; m = d.poll()) out.push(m);
      return out;
    },
  };
}

describe('writeFrame keeps the order of frames on a stream', () => {
  it('the last REPORT before the LEAVE, even when the later write would land first', async () => {
    const { stream, frames } = racingStream();
    const report: FlexMessage = { kind: 'report', flowId: 9, seq: 11, packetsSeen: [726], needs: [], completed: [{ toi: 2, digest: new Uint8Array(0) }] };
    const leave: FlexMessage = { kind: 'state', flowId: 9, action: 'leave', origin: 'receiver' };
    await Promise.all([writeFrame(stream, report), writeFrame(stream, leave)]);
    expect(frames().map((f) => f.kind)).toEqual(['report', 'state']);
  });

  it('a burst of frames, and a failed write does not stop the ones after it', async () => {
    const { stream, frames } = racingStream();
    const write = stream.write;
    let n = 0;
    stream.write = (data) => (n++ === 1 ? Promise.reject(new Error('stream reset')) : write(data));
    const sent = [0, 1, 2, 3].map((seq) => writeFrame(stream, { kind: 'report', flowId: 1, seq, packetsSeen: [], needs: [], completed: [] }));
    const settled = await Promise.allSettled(sent);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(frames().map((f) => (f.kind === 'report' ? f.seq : -1))).toEqual([0, 2, 3]);
  });
});

// Receiver state after kill -9 (src/store/spool.ts): the symbols of an object that was opened
// moments before the kill are still there on restart. The journal line that opens an object
// used to wait for the next state flush (every 5 s), and resume deletes the spools the journal
// does not know: `fcast receive` killed 5 s into a 40 MB receive found 22 MB of spool, deleted
// it, and received the whole file again. The process "dies" here by dropping its state object
// without flush or close; what it wrote is in the page cache, as after a real kill -9.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReceiverState } from '../../../src/store/spool.js';
import type { FecOti } from '../../../codecs/types.js';

const work = mkdtempSync(join(tmpdir(), 'fcast-spool-kill-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const E = 1024;
const oti: FecOti = { encodingId: 3, transferLength: 4_000_000, symbolSize: E, maxSourceBlockLength: 1000, maxEncodingSymbols: 1500, n1m3: 2, symbolsPerPacket: 1, seed: 7 };

describe('receiver state after kill -9', () => {
  it('keeps the spooled symbols of an object opened since the last flush', () => {
    const dir = join(work, 'out');
    const before = new ReceiverState(dir);
    before.openSession(99, '127.0.0.1');
    before.addObject(2, oti);
    const symbol = new Uint8Array(E).fill(5);
    const appended = 1500;
    for (let r = 0; r < appended; r++) before.append(2, r, Math.floor(r / 1000), r % 1000, symbol);
    // Killed: no flush, no close.

    const after = new ReceiverState(dir);
    const resumed = after.openSession(99, '127.0.0.1');
    expect(resumed.map((o) => o.toi)).toEqual([2]);
    let records = 0;
    after.scan(2, () => records++);
    // What had left the write-behind buffer (at most 256 KiB held back) is all there.
    expect(records).toBeGreaterThanOrEqual(appended - Math.ceil((256 * 1024) / (8 + E)));
    after.close();
  });
});

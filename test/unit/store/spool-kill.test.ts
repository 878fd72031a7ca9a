// Receiver state after kill -9 (src/store/spool.ts): the symbols of an object that was opened
// moments before the kill are still there on restart. The journal line that opens an object
// used to wait for the next state flush (every 5 s), and resume deletes the spools the journal
// does not know: `fcast receive` killed 5 s into a 40 MB receive found 22 MB of spool, deleted
// it, and received the whole file again. The process "dies" here by dropping its state object
// without flush or close; what it wrote is in the page cache, as after a real kill -9.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReceiverState, readJournal } from '../../../src/store/spool.js';
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

  it('knows the blocks written to .part since the last flush ("w" lines), in this boot only', async () => {
    const dir = join(work, 'written');
    const before = new ReceiverState(dir);
    expect(before.bootId).toMatch(/^[0-9a-f-]{36}$/);
    before.openSession(99, '127.0.0.1');
    before.addObject(3, oti);
    before.setHeader(3, new Uint8Array([1, 2, 3]), 'f.bin');
    // The part file itself (the shell writes it before marking the block done).
    writeFileSync(before.partPath(3), new Uint8Array(10));
    before.markBlockDone(3, 0);
    before.markBlockDone(3, 2);
    // Killed: no flush, no close.

    // The header line went out before the first "w" line: a resume has the header of block 0.
    const after = new ReceiverState(dir);
    const [st] = after.openSession(99, '127.0.0.1');
    expect(st?.header).toBe(Buffer.from([1, 2, 3]).toString('base64'));
    expect(st?.done).toEqual([0, 2]);
    expect(st?.synced).toBe(0);
    // After a reboot the page cache is gone: only synced ("d") blocks count.
    expect(readJournal(join(dir, '.fcast'), 'another-boot').objects.get(3)?.done).toEqual([]);
    // The next flush syncs the part and journals both as done ("d"), for any later boot.
    await after.flush(async () => undefined);
    expect(readJournal(join(dir, '.fcast'), 'another-boot').objects.get(3)?.done).toEqual([0, 2]);
    after.close();
  });
});

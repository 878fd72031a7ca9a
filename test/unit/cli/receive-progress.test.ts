// The receive progress text (src/cli/receive-progress.ts): the listr2 block lists the objects in
// progress (up to a limit, then "… and N more"); the plain status line, every 5 s when not on a
// terminal, is one line that counts them (it printed a bare "… and 1 more" line before); a WEBRC
// session's line adds layers, target rate and loss.
import { describe, expect, it } from 'vitest';
import { progressLines } from '../../../src/cli/receive-progress.js';
import type { ReceiveProgress } from '../../../src/net/receive-session.js';

function progress(active: number): ReceiveProgress {
  const objects = Array.from({ length: active }, (_, i) => ({ toi: i + 2, path: `f${i}.bin`, phase: 'receiving', k: 100, symbols: 50, blocks: 2, blocksDone: 1 }));
  return { elapsedMs: 5000, stats: { bytes: 2_000_000, packets: 1500 }, objects, instance: { ciid: 0, complete: true, objects: active + 1 } } as unknown as ReceiveProgress;
}

describe('receive progress lines', () => {
  it('the terminal block lists objects in progress, then how many more', () => {
    const lines = progressLines(progress(3), 2).split('\n');
    expect(lines[0]).toBe('0/4 objects verified  2.0 MB in 5.0 s (3.2 Mbit/s)  packets 1500');
    expect(lines.slice(1)).toEqual([' 50.0%  f0.bin  blocks 1/2  symbols/k 0.500', ' 50.0%  f1.bin  blocks 1/2  symbols/k 0.500', '… and 1 more']);
  });

  it('the plain status line is one line that counts the objects in progress', () => {
    expect(progressLines(progress(3), 0)).toBe('0/4 objects verified  2.0 MB in 5.0 s (3.2 Mbit/s)  packets 1500  3 in progress');
  });

  // Issue #5: a WEBRC receiver shows its joined layers (waves above the base, of N) and target rate.
  it('a WEBRC session adds the joined layers, the target rate and the loss, on a terminal and off it', () => {
    const webrc = { layers: 7, maxLayers: 20, targetBitsPerSecond: 12_345_678, lossRatio: 0.005 } as ReceiveProgress['webrc'];
    const p = { ...progress(1), webrc } as ReceiveProgress;
    const part = '  layers 7/20  target 12.3 Mbit/s  loss 0.50%';
    expect(progressLines(p, 2).split('\n')[0]).toBe(`0/2 objects verified  2.0 MB in 5.0 s (3.2 Mbit/s)  packets 1500${part}`);
    expect(progressLines(p, 0)).toBe(`0/2 objects verified  2.0 MB in 5.0 s (3.2 Mbit/s)  packets 1500${part}  1 in progress`);
  });
});

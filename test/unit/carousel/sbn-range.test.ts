// Does any sender schedule put a packet outside its object's plan? An old harness log had a
// receiver drop 12,313 packets as FEC_SBN (SBN beyond the object's block count, as the receiver
// computes it from the packet's EXT_FTI). Here every datagram of many-block sessions in every
// mode and window layout (push with 1-3 cycles, repair rounds, a small memory budget, on-demand
// rounds, No-Code, an object whose B is raised past 4096 blocks, 0- and 1-byte files) is decoded
// as a receiver decodes it, and its TOI, SBN and ESI are checked against the plan the receiver
// would build from its EXT_FTI (src/assembly/receiver.ts open()). Virtual time; no sockets.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CarouselSender, type SenderConfig } from '../../../src/carousel/sender.js';
import { decodeAlcPacket, encodeContentLocation, sameOti } from '../../../src/wire/index.js';
import type { BlockPlan, FecOti } from '../../../codecs/types.js';
import { SCHEMES, bytes } from '../assembly/sim.js';

interface Size {
  readonly name: string;
  readonly size: number;
}

function files(sizes: readonly Size[]): { cfg: SenderConfig['files']; data: Uint8Array[] } {
  const data = sizes.map((s, i) => bytes(s.size, 100 + i));
  const cfg = sizes.map((s, key) => ({
    key, contentLocation: encodeContentLocation(s.name), contentLength: s.size, contentType: 'application/octet-stream',
    sha256: createHash('sha256').update(data[key]!).digest(), mtime: 1_700_000_000, mode: 0o644,
  }));
  return { cfg, data };
}

interface Checked {
  readonly packets: number;
  readonly objects: number;
  readonly maxBlocks: number;
  readonly problems: string[];
}

/** Run the session to its end; check every datagram against the plan of its TOI. */
function check(extra: Partial<SenderConfig> & Pick<SenderConfig, 'fec' | 'mode'>, sizes: readonly Size[], msPerPacket = 0.02): Checked {
  const { cfg, data } = files(sizes);
  const sender = new CarouselSender({ tsi: 7, files: cfg, schemes: (id) => SCHEMES.get(id)!, seed: 3, cidIntervalMs: 50, ...extra });
  const plans = new Map<number, { oti: FecOti; plan: BlockPlan }>();
  const problems: string[] = [];
  let now = 0;
  let packets = 0;
  for (;;) {
    const o = sender.poll(now);
    if (o.kind === 'done') break;
    if (o.kind === 'read') {
      o.target.set(data[o.key]!.subarray(o.fileOffset, o.fileOffset + o.target.length));
      sender.readDone(o.id);
      continue;
    }
    if (o.kind === 'wait') {
      now = o.until ?? now + 1;
      continue;
    }
    packets++;
    now += msPerPacket;
    const p = decodeAlcPacket(o.bytes, { cciLength: 4, requireToi: true });
    const toi = p.lct.toi!;
    if (p.payloadId === undefined) continue;
    let known = plans.get(toi);
    if (known === undefined) {
      if (p.fti === undefined) {
        problems.push(`TOI ${toi}: first packet without EXT_FTI`);
        continue;
      }
      known = { oti: p.fti, plan: SCHEMES.get(p.fti.encodingId)!.partition(p.fti) };
      plans.set(toi, known);
    } else if (p.fti !== undefined && !sameOti(p.fti, known.oti)) {
      problems.push(`TOI ${toi}: EXT_FTI changed`);
    }
    const { sbn, esi } = p.payloadId;
    const block = known.plan.blocks[sbn];
    if (block === undefined) problems.push(`TOI ${toi}: SBN ${sbn} of ${known.plan.blocks.length} blocks`);
    else if (esi >= block.n) problems.push(`TOI ${toi} SBN ${sbn}: ESI ${esi} of n=${block.n}`);
    if (o.toi !== toi || o.sbn !== sbn || o.esi !== esi) problems.push(`TOI ${toi}: transmit says ${o.toi}/${o.sbn}/${o.esi}, packet ${sbn}/${esi}`);
    if (problems.length > 20) break;
  }
  return { packets, objects: plans.size, maxBlocks: Math.max(...[...plans.values()].map((x) => x.plan.blocks.length)), problems };
}

// E = 64, B = 50: the 200 kB file has 63 blocks; the 3 kB one goes as No-Code (too small for N1).
const ldpc = { encodingId: 3, symbolSize: 64, maxSourceBlockLength: 50, codeRate: 2 / 3, n1m3: 2 } as const;
const mixed: Size[] = [
  { name: 'big.bin', size: 200_000 },
  { name: 'second.bin', size: 77_777 },
  { name: 'empty', size: 0 },
  { name: 'one', size: 1 },
  { name: 'small.txt', size: 3_000 },
];

describe('every packet of every sender schedule is inside its object plan (FEC_SBN)', () => {
  it.each([
    ['push, 1 cycle', { mode: 'push', cycles: 1 }],
    ['push, 3 cycles', { mode: 'push', cycles: 3 }],
    ['push, 2 cycles, 64 kB memory budget (small windows, repair rounds)', { mode: 'push', cycles: 2, memoryBudget: 64 * 1024 }],
    ['push, repair window of 5 blocks in 2 rounds', { mode: 'push', cycles: 1, repairWindowBlocks: 5, repairRounds: 2 }],
    ['push, no systematic first pass, window of 3', { mode: 'push', cycles: 2, systematicFirstPass: false, maxActiveBlocks: 3 }],
    ['on-demand, every block at once', { mode: 'on-demand', deadline: 400 }],
    ['on-demand, 64 kB memory budget (rounds)', { mode: 'on-demand', deadline: 400, memoryBudget: 64 * 1024 }],
    ['on-demand, 7 rounds, window of 4', { mode: 'on-demand', deadline: 400, onDemandRounds: 7, maxActiveBlocks: 4 }],
  ] as const)('%s', (_name, cfg) => {
    const r = check({ fec: ldpc, ...cfg }, mixed);
    expect(r.problems).toEqual([]);
    expect(r.objects).toBe(mixed.length + 1); // and the CID
    expect(r.maxBlocks).toBe(Math.ceil(200_000 / 64 / 50));
  });

  it('No-Code with each symbol repeated (code rate 1/3), push and on-demand', () => {
    const fec = { ...ldpc, encodingId: 0, codeRate: 1 / 3 } as const;
    for (const cfg of [{ mode: 'push', cycles: 2 }, { mode: 'on-demand', deadline: 300, memoryBudget: 64 * 1024 }] as const) {
      const r = check({ fec, ...cfg }, mixed);
      expect(r.problems).toEqual([]);
    }
  });

  it('an object needing more than 4096 blocks at B gets a larger B in its own EXT_FTI, and stays inside it', () => {
    // E = 8, B = 10: 400 kB is 50,000 symbols, 5,000 blocks at B = 10.
    const r = check({ fec: { ...ldpc, symbolSize: 8, maxSourceBlockLength: 10 }, mode: 'push', cycles: 1 }, [{ name: 'many.bin', size: 400_000 }], 0.002);
    expect(r.problems).toEqual([]);
    expect(r.maxBlocks).toBeLessThanOrEqual(4096);
  });
});

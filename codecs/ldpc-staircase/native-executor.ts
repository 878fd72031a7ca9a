// The native SymbolExecutor: the same symbol programs as `tsExecutor` (executor.ts), run by the
// fused multi-source XOR kernel in native/src/fec_program.cc (AVX2/SSE2 picked at run time).
// RFC 5170 §6.3 (encoding) and the decoder's XOR work reach native code only through here, and
// the ML dense core (native-dense.ts) rides along as `solveDense`.
//
// Every program is checked in TypeScript before the call (indices inside the arena, records
// inside `length`, dst not among its sources), so a bad program throws FEC_PROGRAM and leaves the
// arena untouched; the kernel checks again and refuses rather than touch foreign memory.
import { LocalProtocolError } from '../../src/errors.js';
import { getNative } from '../native.js';
import type { SymbolExecutor } from './executor.js';
import { nativeDenseSolver } from './native-dense.js';

/** The kernel as the addon exports it (native/src/fec_addon.cc). */
type XorProgramKernel = (arena: Uint8Array, symbolSize: number, program: Uint32Array, length: number) => void;

/**
 * Throws FEC_PROGRAM unless `program[0 .. length)` is a well-formed program over an arena of
 * `arena.length / symbolSize` whole symbols. O(length); cheap beside the XOR work it guards.
 */
export function checkProgram(arena: Uint8Array, symbolSize: number, program: Uint32Array, length: number): void {
  if (!Number.isInteger(symbolSize) || symbolSize < 1) throw new LocalProtocolError('FEC_PROGRAM', `symbol size ${symbolSize}`);
  if (!Number.isInteger(length) || length < 0 || length > program.length) {
    throw new LocalProtocolError('FEC_PROGRAM', `length ${length} outside the program array (${program.length} words)`);
  }
  const symbols = Math.floor(arena.length / symbolSize);
  let p = 0;
  while (p < length) {
    if (length - p < 2) throw new LocalProtocolError('FEC_PROGRAM', `record at word ${p} is truncated`);
    const dst = program[p]!;
    const m = program[p + 1]!;
    if (m > length - p - 2) throw new LocalProtocolError('FEC_PROGRAM', `record at word ${p} has ${m} sources past the end`);
    if (dst >= symbols) throw new LocalProtocolError('FEC_PROGRAM', `record at word ${p}: dst ${dst} outside the arena of ${symbols} symbols`);
    const end = p + 2 + m;
    for (let i = p + 2; i < end; i++) {
      const src = program[i]!;
      if (src >= symbols) throw new LocalProtocolError('FEC_PROGRAM', `record at word ${p}: source ${src} outside the arena of ${symbols} symbols`);
      if (src === dst) throw new LocalProtocolError('FEC_PROGRAM', `record at word ${p}: dst ${dst} is also a source`);
    }
    p = end;
  }
}

function kernel(): XorProgramKernel | undefined {
  const addon = getNative();
  if (addon === undefined) return undefined;
  const fn = addon['xorProgram'];
  if (typeof fn !== 'function') return undefined;
  return fn as XorProgramKernel;
}

let cached: SymbolExecutor | null | undefined;
let warnedStale = false;

/**
 * The native executor, or undefined when the addon is not loaded (codecs/native.ts has then said
 * so once on stderr) or is a build without the FEC kernels (said here, once).
 */
export function nativeExecutor(): SymbolExecutor | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const xorProgram = kernel();
  if (xorProgram === undefined) {
    if (getNative() !== undefined && !warnedStale) {
      warnedStale = true;
      process.stderr.write('fcast: native addon has no FEC kernels (stale build; run npm rebuild); using TypeScript paths\n');
    }
    cached = null;
    return undefined;
  }
  const solveDense = nativeDenseSolver();
  cached = {
    ...(solveDense === undefined ? {} : { solveDense }),
    run(arena, symbolSize, program, length) {
      checkProgram(arena, symbolSize, program, length);
      if (length === 0) return;
      try {
        xorProgram(arena, symbolSize, program, length);
      } catch (e) {
        // Unreachable after checkProgram; kept so a kernel refusal still surfaces as a typed error.
        throw new LocalProtocolError('FEC_PROGRAM', (e as Error).message);
      }
    },
  };
  return cached;
}

// RFC 5170 §5.7: the Park–Miller "minimal standard" PRNG (A = 16807, M = 2^31 − 1) and its
// scaling to 0 .. maxv−1, which MUST be done in IEEE double precision exactly as the RFC's C
// expression `(unsigned long)((double)maxv * (double)raw / (double)0x7FFFFFFF)`. Exact integer
// division would differ from the double result for large maxv·raw and change the matrix.

// A = 16807 and M = 2^31 − 1 are written as literals in pmNext and pmScale: a module-level const
// is a context slot that optimised code reloads, tag-checks and converts on every draw (matrix
// build 44-45 -> 37 us at k = 1000).

/** Lowest and highest valid seeds (RFC 5170 §4.2.3). */
export const PRNG_SEED_MIN = 1;
export const PRNG_SEED_MAX = 0x7ffffffe;

/**
 * One Park–Miller step: the state after `x` (1 .. 2^31−2), in exact 32-bit integer steps
 * (Carta's method). With x = xh·2^16 + xl: 16807·x = lo + hi·2^16 (lo = 16807·xl < 2^31,
 * hi = 16807·xh < 2^30), and since 2^31 ≡ 1 (mod 2^31−1), hi·2^16 ≡ (hi mod 2^15)·2^16 + ⌊hi / 2^15⌋.
 * That sum is below 3.25·10^9 < 2^32; one fold of bit 31 (r mod 2^31 + 1, where r mod 2^31 <
 * 1.11·10^9 then) leaves it in 1 .. 2^31−2, since a nonzero state never maps to 0 (mod M). V8 keeps
 * all of it in 32-bit registers, so the state's dependency chain, which matrix building walks ~N1·k
 * times in a row, has no double multiply, rounding or folding. A hot loop keeps the state in a
 * local (buildMatrix) rather than an object field, whose store and reload would sit on that chain.
 */
export function pmNext(x: number): number {
  const lo = Math.imul(16807, x & 0xffff);
  const hi = Math.imul(16807, x >>> 16);
  const r = (lo + ((hi & 0x7fff) << 16) + (hi >>> 15)) >>> 0;
  return ((r & 0x7fffffff) + (r >>> 31)) | 0;
}

/**
 * pmms_rand's scaling of a raw value to 0 .. maxv−1, in the RFC's double arithmetic. The quotient
 * lies in [0, maxv) ⊂ [0, 2^31) (maxv ≤ 2^31−1), where truncation (`| 0`) is the C cast and equals
 * Math.floor, without its rounding and int32 range checks.
 */
export function pmScale(raw: number, maxv: number): number {
  return ((maxv * raw) / 2147483647) | 0;
}

/** The PRNG as a stream object (tests, and any caller outside a hot loop). */
export class ParkMiller {
  private state: number;

  constructor(seed: number) {
    this.state = seed;
  }

  /** Advance and return the raw 31-bit value (1 .. 2^31−2). */
  nextRaw(): number {
    this.state = pmNext(this.state);
    return this.state;
  }

  /** pmms_rand(maxv): advance, then scale to 0 .. maxv−1. */
  rand(maxv: number): number {
    return pmScale(this.nextRaw(), maxv);
  }
}

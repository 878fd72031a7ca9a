// RFC 5170 §5.7: the Park–Miller "minimal standard" PRNG (A = 16807, M = 2^31 − 1) and its
// scaling to 0 .. maxv−1, which MUST be done in IEEE double precision exactly as the RFC's C
// expression `(unsigned long)((double)maxv * (double)raw / (double)0x7FFFFFFF)`. Exact integer
// division would differ from the double result for large maxv·raw and change the matrix.

const PM_A = 16807;
const PM_M = 2147483647;

/** Lowest and highest valid seeds (RFC 5170 §4.2.3). */
export const PRNG_SEED_MIN = 1;
export const PRNG_SEED_MAX = 0x7ffffffe;

export class ParkMiller {
  private state: number;

  constructor(seed: number) {
    this.state = seed;
  }

  /**
   * Advance and return the raw 31-bit value (1 .. 2^31−2). 16807·state < 2^46 is exact in a
   * double; since 2^31 ≡ 1 (mod 2^31−1), x mod M = (x mod 2^31) + floor(x / 2^31), folded once.
   * That is exact too and avoids the slow floating-point `%` (matrix building calls this ~N1·k times).
   */
  nextRaw(): number {
    const x = this.state * PM_A;
    const hi = Math.floor(x / 2147483648);
    let r = x - hi * 2147483648 + hi;
    if (r >= PM_M) r -= PM_M;
    this.state = r;
    return r;
  }

  /** pmms_rand(maxv): advance, then scale to 0 .. maxv−1 with the RFC's double arithmetic. */
  rand(maxv: number): number {
    const raw = this.nextRaw();
    return Math.floor((maxv * raw) / PM_M);
  }
}

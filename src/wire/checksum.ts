// Internet checksum (RFC 1071) as FCAST uses it (RFC 6968 §2.1; SPEC-NOTES §5.1): the one's
// complement of the one's-complement sum of the 16-bit big-endian words, the checksum field
// counted as zero, an odd last byte padded with a zero byte. G=0 covers the FCAST header (HL
// bytes), G=1 the whole compound object.
//
// InternetChecksum is incremental so a receiver can check a G=1 object while it streams a large
// file to disk: chunks may have any length and alignment; the 16-bit word phase is kept across
// chunks. Verifying: sum every byte of the object, checksum field included; a correct object
// sums to 0xFFFF (RFC 1071 §1(3)).

/** Fold a running sum of 16-bit words to 16 bits with end-around carry. */
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

export class InternetChecksum {
  private sum = 0;
  /** Bytes fed so far (decides whether the next byte is a high or a low byte). */
  private length = 0;

  /** Add `chunk`, which continues the byte stream fed so far. */
  update(chunk: Uint8Array): this {
    const n = chunk.length;
    if (n === 0) return this;
    let i = 0;
    let sum = this.sum;
    if (this.length % 2 === 1) {
      sum += chunk[0]!;
      i = 1;
    }
    // Sum word pairs; fold every 2^16 words so the running sum stays far below 2^53.
    const end = i + ((n - i) & ~1);
    while (i < end) {
      const stop = Math.min(end, i + 0x20000);
      for (; i < stop; i += 2) sum += (chunk[i]! << 8) | chunk[i + 1]!;
      sum = fold(sum);
    }
    if (i < n) sum += chunk[i]! << 8;
    this.sum = fold(sum);
    this.length += n;
    return this;
  }

  /** Add `n` zero bytes (e.g. the checksum field while computing it). */
  zeros(n: number): this {
    this.length += n;
    return this;
  }

  /** The one's-complement sum so far (16 bits). */
  get partialSum(): number {
    return this.sum;
  }

  /** The checksum to write: the complement of the sum. */
  digest(): number {
    return ~this.sum & 0xffff;
  }

  /** True when the bytes fed (checksum field included) sum to 0xFFFF, i.e. the checksum holds. */
  verify(): boolean {
    return this.sum === 0xffff;
  }
}

/** Checksum of `bytes` with the 16-bit field at `fieldOffset` (even) counted as zero. */
export function internetChecksum(bytes: Uint8Array, fieldOffset?: number): number {
  const c = new InternetChecksum();
  if (fieldOffset === undefined) return c.update(bytes).digest();
  return c
    .update(bytes.subarray(0, fieldOffset))
    .zeros(2)
    .update(bytes.subarray(fieldOffset + 2))
    .digest();
}

/** One's-complement sum of two 16-bit partial sums (for combining a header and a data sum). */
export function addSums(a: number, b: number): number {
  return fold(a + b);
}

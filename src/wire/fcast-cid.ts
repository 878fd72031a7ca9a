// Carousel Instance Descriptor objects (RFC 6968 §2.2, §3.5; SPEC-NOTES §5.4): a compound
// object with C=1 whose data is the object list, UTF-8, not NUL-terminated:
//   cid-list = *(elem *("," elem))
//   elem     = toi / toi "-" toi / "(" newtoi "=" oldtoi "/" ciid ")"
// Rules checked (SPEC-NOTES §7 rows 31-32, code CID_LIST unless noted):
// - only digits and `,` `-` `(` `=` `/` `)`; no empty element;
// - an interval a-b needs a < b; on TOI wrap the sender writes two intervals `a-MAX_TOI,0-b`;
// - TOIs strictly increasing, allowing one wrap: after the wrap every TOI stays below the first
//   one, and a wrapped list spans at most half the TOI space (RFC 6968 §3.6) — so no duplicates;
// - equivalences only at the end, strictly increasing by newTOI (same wrap rule); a TOI may be
//   both listed and an equivalence's newTOI (receivers must accept it);
// - Fcast-CID-Complete ∈ {0, 1} (fcast-metadata.ts); no padding after an empty list
//   (fcast-object.ts); Content-Length, when present, equals the list length;
// - CID_ID: CIID missing while several carousel instances are in use, or going backwards
//   (checkCiid; the caller holds the previous CIID).
// MAX_TOI depends on the sender's TOI width: ours is 32 bits (SPEC-NOTES §0), the default here.

import { LocalProtocolError, RemoteProtocolError, isFcastError } from '../errors.js';
import { decodeContent, decodeFcastObject, encodeFcastObject, type FcastDecodeOptions, type FcastHeader } from './fcast-object.js';

export const DEFAULT_MAX_TOI = 0xffff_ffff;
/** Default cap on the inflated CID list (a full list of 10^6 objects fits easily). */
export const DEFAULT_MAX_CID_LIST = 16 << 20;

/** TOIs first … last inclusive; a single TOI has first === last, an interval first < last. */
export interface CidRange {
  readonly first: number;
  readonly last: number;
}

/** `(newToi=oldToi/ciid)`: newToi carries the object first sent as oldToi in instance ciid. */
export interface CidEquivalence {
  readonly newToi: number;
  readonly oldToi: number;
  readonly ciid: number;
}

export interface CidList {
  readonly ranges: readonly CidRange[];
  readonly equivalences: readonly CidEquivalence[];
}

export interface CidOptions {
  /** Largest TOI of the sender's TOI width (default 2^32 − 1). */
  readonly maxToi?: number;
}

function bad(detail: string): never {
  throw new RemoteProtocolError('CID_LIST', detail);
}

/** Strictly increasing order of TOIs allowing one wrap (see the file comment). */
class WrapOrder {
  private first = -1;
  private last = -1;
  private wrapped = false;
  private readonly space: number;

  constructor(maxToi: number) {
    this.space = maxToi + 1;
  }

  next(v: number): void {
    if (this.first < 0) {
      this.first = v;
    } else if (v <= this.last) {
      if (this.wrapped || v >= this.first) bad(`TOI ${v} after ${this.last} is not increasing`);
      this.wrapped = true;
    } else if (this.wrapped && v >= this.first) {
      bad(`TOI ${v} wraps past the first TOI ${this.first}`);
    }
    this.last = v;
  }

  end(): void {
    if (this.wrapped && this.last + this.space - this.first >= this.space / 2) bad('wrapped list spans more than half the TOI space');
  }
}

/** Parses the list text byte by byte; every number and symbol is checked where it stands. */
class ListParser {
  private pos = 0;

  constructor(
    private readonly s: Uint8Array,
    private readonly maxToi: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(): number {
    return this.pos < this.s.length ? this.s[this.pos]! : -1;
  }

  expect(c: string): void {
    if (this.peek() !== c.charCodeAt(0)) bad(`expected "${c}" at ${this.pos}`);
    this.pos++;
  }

  number(max: number): number {
    const start = this.pos;
    let v = 0;
    while (this.pos < this.s.length) {
      const c = this.s[this.pos]!;
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      if (v > max) bad(`number above ${max} at ${start}`);
      this.pos++;
    }
    if (this.pos === start) bad(`expected a number at ${start}`);
    return v;
  }

  toi(): number {
    return this.number(this.maxToi);
  }
}

/** Decode a CID object list (the CID's data after content decoding). */
export function decodeCidList(bytes: Uint8Array, opts?: CidOptions): CidList {
  const maxToi = opts?.maxToi ?? DEFAULT_MAX_TOI;
  const p = new ListParser(bytes, maxToi);
  const ranges: CidRange[] = [];
  const equivalences: CidEquivalence[] = [];
  const order = new WrapOrder(maxToi);
  const newOrder = new WrapOrder(maxToi);
  while (!p.done) {
    if (ranges.length + equivalences.length > 0) p.expect(',');
    if (p.peek() === 0x28 /* ( */) {
      p.expect('(');
      const newToi = p.toi();
      p.expect('=');
      const oldToi = p.toi();
      p.expect('/');
      const ciid = p.number(Number.MAX_SAFE_INTEGER);
      p.expect(')');
      newOrder.next(newToi);
      equivalences.push({ newToi, oldToi, ciid });
      continue;
    }
    if (equivalences.length > 0) bad('a TOI after the equivalences');
    const first = p.toi();
    let last = first;
    if (p.peek() === 0x2d /* - */) {
      p.expect('-');
      last = p.toi();
      if (last <= first) bad(`interval ${first}-${last} is not increasing`);
    }
    order.next(first);
    if (last !== first) order.next(last);
    ranges.push({ first, last });
  }
  order.end();
  newOrder.end();
  return { ranges, equivalences };
}

/** The list text (canonical form: decodeCidList(encodeCidList(x)) deep-equals x). */
export function encodeCidList(list: CidList): string {
  const parts: string[] = [];
  for (const r of list.ranges) parts.push(r.first === r.last ? String(r.first) : `${r.first}-${r.last}`);
  for (const e of list.equivalences) parts.push(`(${e.newToi}=${e.oldToi}/${e.ciid})`);
  return parts.join(',');
}

/**
 * Build a compact list from a set of TOIs. `from` is the oldest TOI of the active window: TOIs
 * are ordered from it upwards and wrap after maxToi. Runs of four or more consecutive TOIs
 * become intervals, shorter runs stay single (this reproduces RFC 6968 Appendix A.2); a run never
 * crosses maxToi → 0 (the wrap form is two intervals).
 */
export function buildCidList(
  tois: Iterable<number>,
  opts?: CidOptions & { readonly from?: number; readonly equivalences?: readonly CidEquivalence[] },
): CidList {
  const maxToi = opts?.maxToi ?? DEFAULT_MAX_TOI;
  const space = maxToi + 1;
  const from = opts?.from ?? 0;
  const key = (t: number): number => (t - from + space) % space;
  const sorted = [...new Set(tois)];
  for (const t of sorted) {
    if (!Number.isSafeInteger(t) || t < 0 || t > maxToi) throw new LocalProtocolError('WIRE_VALUE', `TOI ${t}`);
  }
  sorted.sort((a, b) => key(a) - key(b));
  const ranges: CidRange[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    if (j - i + 1 >= 4) ranges.push({ first: sorted[i]!, last: sorted[j]! });
    else for (let k = i; k <= j; k++) ranges.push({ first: sorted[k]!, last: sorted[k]! });
    i = j + 1;
  }
  const equivalences = [...(opts?.equivalences ?? [])].sort((a, b) => key(a.newToi) - key(b.newToi));
  return { ranges, equivalences };
}

/** True when `toi` is listed (plainly or as an interval; equivalences are matched by newToi). */
export function cidContains(list: CidList, toi: number): boolean {
  for (const r of list.ranges) if (toi >= r.first && toi <= r.last) return true;
  for (const e of list.equivalences) if (e.newToi === toi) return true;
  return false;
}

/** Number of TOIs the ranges list (equivalences not counted). */
export function cidCount(list: CidList): number {
  let n = 0;
  for (const r of list.ranges) n += r.last - r.first + 1;
  return n;
}

export interface CidObject {
  readonly header: FcastHeader;
  /** Fcast-CID-Complete: no objects beyond this CI and earlier ones will come. */
  readonly complete: boolean;
  /** Fcast-CID-ID; undefined when absent. */
  readonly ciid: number | undefined;
  readonly list: CidList;
}

export interface CidDecodeOptions extends CidOptions, FcastDecodeOptions {
  /** Cap on the list after content decoding (default 16 MiB). */
  readonly maxListLength?: number;
}

/** Decode a whole CID compound object (C must be 1). */
export function decodeCidObject(object: Uint8Array, opts?: CidDecodeOptions): CidObject {
  const { header, data } = decodeFcastObject(object, opts);
  if (!header.cid) bad('C flag is 0');
  const m = header.metadata;
  let list: Uint8Array;
  try {
    list = decodeContent(m, data, opts?.maxListLength ?? DEFAULT_MAX_CID_LIST);
  } catch (e) {
    // Content-Length ≠ list length is a CID rule (§7 row 31).
    if (isFcastError(e) && e.code === 'FCAST_CONTENT_LENGTH') bad(e.message);
    throw e;
  }
  return { header, complete: m.cidComplete === true, ciid: m.cidId, list: decodeCidList(list, opts) };
}

export interface CidObjectInit {
  readonly list: CidList;
  readonly complete?: boolean;
  readonly ciid?: number;
  /** G flag (checksum over the whole object); default true for CIDs, as in RFC 6968 A.2. */
  readonly global?: boolean;
  readonly mdEnc?: 0 | 1;
  /** Also send Content-Length (default true). */
  readonly contentLength?: boolean;
}

/** Encode a CID compound object. */
export function encodeCidObject(init: CidObjectInit): Uint8Array {
  const text = new TextEncoder().encode(encodeCidList(init.list));
  return encodeFcastObject(
    {
      cid: true,
      global: init.global ?? true,
      mdEnc: init.mdEnc,
      metadata: {
        contentLength: init.contentLength === false ? undefined : text.length,
        cidComplete: init.complete,
        cidId: init.ciid,
      },
    },
    text,
  );
}

/**
 * CIID rules (RFC 6968 §2.2; SPEC-NOTES §7 row 32, ours): a CID without Fcast-CID-ID is only
 * acceptable when the session is one single CI; the CIID never goes backwards. Throws CID_ID.
 */
export function checkCiid(previous: number | undefined, next: number | undefined, multipleInstances: boolean): void {
  if (next === undefined) {
    if (multipleInstances || previous !== undefined) throw new RemoteProtocolError('CID_ID', 'Fcast-CID-ID missing');
    return;
  }
  if (previous !== undefined && next < previous) throw new RemoteProtocolError('CID_ID', `CIID ${next} after ${previous}`);
}

// Receiver resume state under DIR/.fcast (the shell side of src/assembly; RFC 6968 §3.8 says
// nothing about restarts, so the layout is ours):
//
//   DIR/.fcast/session.json            { tsi, source }: whose state this is
//   DIR/.fcast/<toi>.json              object state: OTI, header bytes, blocks done, verified
//   DIR/.fcast/<toi>.spool             append-only symbol records of the object's open blocks
//   DIR/.fcast/<toi>.part              the object's data as blocks decode (renamed when verified)
//
// Spool record, fixed size so record r sits at r · (8 + E): sbn (u32) | esi (u32) | E bytes; a
// short last symbol is zero-padded, as decoders expect anyway (RFC 5052 §9.1). Records are never
// rewritten; a torn tail after a crash is cut to whole records on resume.
//
// Why it is safe after kill -9: a symbol is in the spool before the core counts it; a block is
// marked done in <toi>.json only after its bytes were written (and fdatasync'd) to .part; the
// spool is deleted only once the object is verified. So every received symbol is either in a
// done block or still in the spool. fsync policy: state files are written atomically (write,
// fsync, rename) at most once per `flush()`; spools and .part files are fdatasync'd just before,
// so a power loss costs at most the last flush interval, never consistency.

import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rm, rmSync, writeFileSync, writeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import type { FecOti } from '../../codecs/types.js';

export const STATE_DIR = '.fcast';
const RECORD_HEADER = 8;

export interface ObjectStateFile {
  readonly toi: number;
  readonly oti: FecOti;
  /** base64 of the compound-object bytes before the data, once known. */
  header?: string;
  /** SBNs written to .part. */
  done: number[];
  verified: boolean;
  path?: string;
}

interface OpenSpool {
  fd: number;
  /** Records in the file plus those still in `pending`. */
  records: number;
  /** Records written to the file. */
  written: number;
  /** Write-behind buffer of whole records: one write(2) per ~256 KiB instead of one per packet. */
  pending: Buffer;
  pendingBytes: number;
  dirty: boolean;
}

const PENDING_BYTES = 256 * 1024;

/** One receiver's state folder. Synchronous I/O: each call is small and ordered with the core. */
export class ReceiverState {
  readonly dir: string;
  private readonly spools = new Map<number, OpenSpool>();
  private readonly objects = new Map<number, ObjectStateFile>();
  private readonly dirtyObjects = new Set<number>();
  private readonly symbolSize = new Map<number, number>();

  constructor(outDir: string) {
    this.dir = join(outDir, STATE_DIR);
    mkdirSync(this.dir, { recursive: true });
  }

  /**
   * Bind the folder to a session. State of another session is removed (its TOIs mean other
   * objects). Returns the objects of this session's earlier run.
   */
  openSession(tsi: number, source: string | undefined): ObjectStateFile[] {
    const file = join(this.dir, 'session.json');
    let same = false;
    if (existsSync(file)) {
      try {
        const s = JSON.parse(readFileSync(file, 'utf8')) as { tsi?: unknown; source?: unknown };
        same = s.tsi === tsi && (source === undefined || s.source === source || s.source === undefined);
      } catch {
        same = false;
      }
    }
    if (!same) {
      for (const name of readdirSync(this.dir)) rmSync(join(this.dir, name), { force: true, recursive: true });
      atomicWrite(file, JSON.stringify({ tsi, source }));
      return [];
    }
    const out: ObjectStateFile[] = [];
    for (const name of readdirSync(this.dir)) {
      const m = /^(\d+)\.json$/.exec(name);
      if (m === null) continue;
      try {
        const st = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as ObjectStateFile;
        if (st.toi !== Number(m[1]) || typeof st.oti !== 'object') continue;
        this.objects.set(st.toi, st);
        this.symbolSize.set(st.toi, st.oti.symbolSize);
        out.push(st);
      } catch {
        // A state file we cannot read is as good as none: the object is received again.
      }
    }
    return out;
  }

  partPath(toi: number): string {
    return join(this.dir, `${toi}.part`);
  }

  private spoolPath(toi: number): string {
    return join(this.dir, `${toi}.spool`);
  }

  /** A new object: write its state file so its spool can be replayed after a crash. */
  addObject(toi: number, oti: FecOti): void {
    if (this.objects.has(toi)) return;
    this.objects.set(toi, { toi, oti, done: [], verified: false });
    this.symbolSize.set(toi, oti.symbolSize);
    this.saveObject(toi);
  }

  object(toi: number): ObjectStateFile | undefined {
    return this.objects.get(toi);
  }

  setHeader(toi: number, headerBytes: Uint8Array, path: string | undefined): void {
    const st = this.objects.get(toi);
    if (st === undefined) return;
    st.header = Buffer.from(headerBytes).toString('base64');
    if (path !== undefined) st.path = path;
    this.saveObject(toi);
  }

  markBlockDone(toi: number, sbn: number): void {
    const st = this.objects.get(toi);
    if (st === undefined) return;
    st.done.push(sbn);
    this.dirtyObjects.add(toi);
  }

  /** The object is delivered: its spool and .part go, its state says verified. */
  markVerified(toi: number): void {
    const st = this.objects.get(toi);
    if (st === undefined) return;
    st.verified = true;
    st.done = [];
    this.closeSpool(toi);
    // Unlinking a large spool takes a while: off the receive loop. A spool left behind by a
    // failed unlink is removed with the state folder.
    rm(this.spoolPath(toi), { force: true }, () => undefined);
    this.saveObject(toi);
  }

  /** The object was rejected: forget everything about it. */
  dropObject(toi: number): void {
    this.closeSpool(toi);
    rmSync(this.spoolPath(toi), { force: true });
    rmSync(this.partPath(toi), { force: true });
    rmSync(join(this.dir, `${toi}.json`), { force: true });
    this.objects.delete(toi);
    this.dirtyObjects.delete(toi);
  }

  private spool(toi: number): OpenSpool {
    let s = this.spools.get(toi);
    if (s === undefined) {
      const fd = openSync(this.spoolPath(toi), 'a+');
      const e = this.symbolSize.get(toi)!;
      const size = fstatSync(fd).size;
      const records = Math.floor(size / (RECORD_HEADER + e));
      // A torn record from a crash mid-write: cut it off.
      if (records * (RECORD_HEADER + e) !== size) ftruncateSync(fd, records * (RECORD_HEADER + e));
      s = { fd, records, written: records, pending: Buffer.allocUnsafe(Math.max(PENDING_BYTES, RECORD_HEADER + e)), pendingBytes: 0, dirty: false };
      this.spools.set(toi, s);
    }
    return s;
  }

  /** Write the buffered records out (before a read-back, a sync, a close). */
  private writePending(s: OpenSpool): void {
    if (s.pendingBytes === 0) return;
    const size = s.pendingBytes;
    let done = 0;
    while (done < size) done += writeSync(s.fd, s.pending, done, size - done);
    s.written = s.records;
    s.pendingBytes = 0;
  }

  private closeSpool(toi: number): void {
    const s = this.spools.get(toi);
    if (s === undefined) return;
    this.writePending(s);
    closeSync(s.fd);
    this.spools.delete(toi);
  }

  /** Append record `record` (must be the next one). */
  append(toi: number, record: number, sbn: number, esi: number, symbol: Uint8Array): void {
    const s = this.spool(toi);
    const e = this.symbolSize.get(toi)!;
    if (record !== s.records) throw new Error(`spool of TOI ${toi}: record ${record}, expected ${s.records}`);
    const size = RECORD_HEADER + e;
    if (s.pendingBytes + size > s.pending.length) this.writePending(s);
    const at = s.pendingBytes;
    s.pending.writeUInt32BE(sbn, at);
    s.pending.writeUInt32BE(esi, at + 4);
    s.pending.set(symbol, at + RECORD_HEADER);
    // A short last symbol is zero-padded to E.
    if (symbol.length < e) s.pending.fill(0, at + RECORD_HEADER + symbol.length, at + size);
    s.pendingBytes += size;
    s.records++;
    s.dirty = true;
  }

  /** Read records back for a decode. */
  *read(toi: number, records: Uint32Array): Generator<{ esi: number; symbol: Uint8Array }> {
    const s = this.spool(toi);
    this.writePending(s);
    const e = this.symbolSize.get(toi)!;
    const size = RECORD_HEADER + e;
    const buf = Buffer.alloc(size);
    for (const r of records) {
      if (readSync(s.fd, buf, 0, size, r * size) !== size) continue;
      yield { esi: buf.readUInt32BE(4), symbol: buf.subarray(RECORD_HEADER) };
    }
  }

  /** Every record header of an object's spool, for the core's restore; returns the record count. */
  scan(toi: number, each: (record: number, sbn: number, esi: number) => void): number {
    if (!existsSync(this.spoolPath(toi))) return 0;
    const s = this.spool(toi);
    this.writePending(s);
    const e = this.symbolSize.get(toi)!;
    const size = RECORD_HEADER + e;
    // Read in large chunks: a 4 GB object's spool has millions of records.
    const per = Math.max(1, Math.floor((4 << 20) / size));
    const buf = Buffer.alloc(per * size);
    for (let first = 0; first < s.records; first += per) {
      const n = Math.min(per, s.records - first);
      const got = readSync(s.fd, buf, 0, n * size, first * size);
      for (let i = 0; i * size + RECORD_HEADER <= got; i++) each(first + i, buf.readUInt32BE(i * size), buf.readUInt32BE(i * size + 4));
    }
    return s.records;
  }

  /**
   * Make spools durable, then the object state files that point past them. The fdatasync calls
   * run on libuv's thread pool: a sync of a large file must not stall the receive loop while the
   * socket buffer fills. Overlapping calls are skipped (the next tick catches up).
   */
  async flush(syncPart: (toi: number) => Promise<void>): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      const syncs: Promise<void>[] = [];
      for (const s of this.spools.values()) {
        this.writePending(s);
        if (!s.dirty) continue;
        s.dirty = false;
        syncs.push(fdatasyncQuiet(s.fd));
      }
      // Blocks done up to now are covered by the part-file syncs started now; later ones wait.
      const objects = [...this.dirtyObjects].map((toi) => [toi, this.objects.get(toi)?.done.length ?? 0] as const);
      this.dirtyObjects.clear();
      for (const [toi] of objects) syncs.push(syncPart(toi));
      await Promise.all(syncs);
      // Only now may a state file say that a block is in its part file.
      for (const [toi, doneLength] of objects) this.saveObject(toi, doneLength);
    } finally {
      this.flushing = false;
    }
  }

  private flushing = false;

  /** Synchronous flush for the end of a run (nothing else is going on then). */
  flushNow(syncPart: (toi: number) => void): void {
    for (const s of this.spools.values()) {
      this.writePending(s);
      if (s.dirty) fdatasyncSync(s.fd);
      s.dirty = false;
    }
    for (const toi of this.dirtyObjects) {
      syncPart(toi);
      this.saveObject(toi);
    }
    this.dirtyObjects.clear();
  }

  /** Write the state file; `doneLength` limits it to the blocks known to be synced. */
  private saveObject(toi: number, doneLength?: number): void {
    const st = this.objects.get(toi);
    if (st === undefined) return;
    const view = doneLength === undefined || st.verified ? st : { ...st, done: st.done.slice(0, doneLength) };
    atomicWrite(join(this.dir, `${toi}.json`), JSON.stringify(view));
  }

  close(): void {
    for (const toi of [...this.spools.keys()]) this.closeSpool(toi);
  }

  /** Remove the whole state folder (after a complete, verified receive). */
  remove(): void {
    this.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** fdatasync on the thread pool; a descriptor closed meanwhile (object verified) is not an error. */
function fdatasyncQuiet(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (e) => (e === null || e.code === 'EBADF' ? resolve() : reject(e))));
}

function atomicWrite(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

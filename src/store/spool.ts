// Receiver resume state under DIR/.fcast (the shell side of src/assembly; RFC 6968 §3.8 says
// nothing about restarts, so the layout is ours):
//
//   DIR/.fcast/state.log               journal: session line, then one JSON line per change
//   DIR/.fcast/<toi>.spool             append-only symbol records of the object's open blocks
//   DIR/.fcast/<toi>.part              the object's data as blocks decode (renamed when verified)
//
// Journal lines: {"tsi","source"} first, then {"o":toi,"oti"} object opened, {"h":toi,"header",
// "path"} FCAST header known (base64 of the bytes before the data), {"d":toi,"sbn":[...]} blocks
// written to .part, {"v":toi} verified and delivered, {"x":toi} dropped. Replayed in order on
// resume; a torn last line (crash mid-append) is cut off.
//
// Why one journal, not a state file per object: with 2000 small files a file per object cost a
// write + fsync + rename at open, at header, per flush and at verify: 26 of the receiver's 44 s
// (bench/small-files.mjs). The journal takes every change of a flush interval in one append and
// one fdatasync, whatever the number of objects.
//
// Spool record, fixed size so record r sits at r · (8 + E): sbn (u32) | esi (u32) | E bytes; a
// short last symbol is zero-padded, as decoders expect anyway (RFC 5052 §9.1). Records are never
// rewritten; a torn tail after a crash is cut to whole records on resume.
//
// Records are held in memory until they must reach the disk: at a flush, for a read-back, or
// when all objects' held records pass HOLD_BYTES. Records of a block that decoded meanwhile are
// dropped then, not written (issue 4: every symbol went to the disk twice, spool and part file,
// on the 2 cores eight receivers share): with our sender's 16-block window most blocks decode
// within a flush interval, so most symbols never touch the spool. File record numbers therefore
// differ from the core's record numbers; `slots` maps one to the other.
//
// Why it is safe after kill -9: a block is journalled as done only after its bytes were written
// and fdatasync'd to .part (flush: spools and parts synced first, then the journal appended and
// synced); a spool's records are synced before the journal line that opens its object, so every
// symbol persisted at a flush is either in a done block or in a spool the journal knows. A block
// whose held records were dropped is journalled as done in the same flush that would have written
// them; a crash before that flush loses only what no flush had persisted. Spools and parts the
// journal does not know are deleted on resume. A verified object's part was renamed into place
// before its "v" line: if the crash comes in between, its part is gone and the object is
// received again from the start (its final file is rewritten with the same content). A power
// loss costs at most the last flush interval, never consistency.

import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rm, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { FecOti } from '../../codecs/types.js';

export const STATE_DIR = '.fcast';
const JOURNAL = 'state.log';
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
  /** Opened on the first write to disk. */
  fd: number | undefined;
  /** The core's record count: records in the file, dropped or held. */
  records: number;
  /** Records in the file. */
  fileRecords: number;
  /** Core records below this are file records of the same number (an earlier run's). */
  base: number;
  /** File record of core record base + i, or NO_SLOT (dropped, or still held). */
  slots: Uint32Array;
  /** Held records, whole records per chunk (no copy as they grow). */
  chunks: Buffer[];
  /** Bytes used in the last chunk. */
  lastBytes: number;
  heldBytes: number;
  /** Core record number of the first held record. */
  firstHeld: number;
  dirty: boolean;
}

/** Records held in memory over all objects before they are written (decoded blocks' dropped). */
const HOLD_BYTES = 32 << 20;
/** Held-record chunks grow from this many records (small files stay small) to CHUNK_BYTES. */
const CHUNK_START_RECORDS = 4;
const CHUNK_BYTES = 256 * 1024;
const NO_SLOT = 0xffffffff;

type JournalLine =
  | { readonly o: number; readonly oti: FecOti }
  | { readonly h: number; readonly header: string; readonly path?: string }
  | { readonly d: number; readonly sbn: readonly number[] }
  | { readonly v: number }
  | { readonly x: number };

/**
 * Replay a state folder's journal (also for tests that inspect a receiver's state after a kill):
 * the objects it knows, by TOI, and the session it belongs to.
 */
export function readJournal(stateDir: string): { session: { tsi: number; source: string | undefined } | undefined; objects: Map<number, ObjectStateFile>; validBytes: number } {
  const objects = new Map<number, ObjectStateFile>();
  let text: string;
  try {
    text = readFileSync(join(stateDir, JOURNAL), 'utf8');
  } catch {
    return { session: undefined, objects, validBytes: 0 };
  }
  let session: { tsi: number; source: string | undefined } | undefined;
  let at = 0;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
    let line: unknown;
    try {
      line = JSON.parse(text.slice(at, nl));
    } catch {
      break;
    }
    if (session === undefined) {
      const s = line as { tsi?: unknown; source?: unknown };
      if (typeof s.tsi !== 'number') break;
      session = { tsi: s.tsi, source: typeof s.source === 'string' ? s.source : undefined };
    } else {
      applyLine(objects, line as JournalLine);
    }
    at = nl + 1;
  }
  return { session, objects, validBytes: Buffer.byteLength(text.slice(0, at)) };
}

function applyLine(objects: Map<number, ObjectStateFile>, line: JournalLine): void {
  if ('o' in line) {
    if (!objects.has(line.o)) objects.set(line.o, { toi: line.o, oti: line.oti, done: [], verified: false });
  } else if ('h' in line) {
    const st = objects.get(line.h);
    if (st === undefined) return;
    st.header = line.header;
    if (line.path !== undefined) st.path = line.path;
  } else if ('d' in line) {
    objects.get(line.d)?.done.push(...line.sbn);
  } else if ('v' in line) {
    const st = objects.get(line.v);
    if (st === undefined) return;
    st.verified = true;
    st.done = [];
  } else if ('x' in line) {
    objects.delete(line.x);
  }
}

/** One receiver's state folder. Synchronous I/O: each call is small and ordered with the core. */
export class ReceiverState {
  readonly dir: string;
  private readonly spools = new Map<number, OpenSpool>();
  private readonly objects = new Map<number, ObjectStateFile>();
  private readonly symbolSize = new Map<number, number>();
  /** Journal lines not yet written (the next flush writes them, then syncs). */
  private lines: string[] = [];
  /** Per object: entries of `done` already in the journal or in `lines`. */
  private readonly loggedDone = new Map<number, number>();
  private readonly dirtyObjects = new Set<number>();
  private journalFd: number | undefined;
  /** Objects of an earlier run: their spool files may exist. */
  private readonly resumed = new Set<number>();
  /** Objects whose spool file was opened (so it exists until removed). */
  private readonly onDisk = new Set<number>();
  /** Per object: blocks written to .part this run, so their held records need not be. */
  private readonly doneThisRun = new Map<number, Set<number>>();
  /** Held record bytes over all spools. */
  private heldBytes = 0;
  private readonly holdBytes: number;
  /** Figures: record bytes written to spool files, and held ones dropped as their block decoded. */
  readonly spoolStats = { writtenBytes: 0, droppedBytes: 0 };

  /** `holdBytes`: records held in memory over all objects before they are written (default 32 MiB). */
  constructor(outDir: string, opts: { holdBytes?: number } = {}) {
    this.holdBytes = opts.holdBytes ?? HOLD_BYTES;
    this.dir = join(outDir, STATE_DIR);
    mkdirSync(this.dir, { recursive: true });
  }

  /**
   * Bind the folder to a session. State of another session is removed (its TOIs mean other
   * objects). Returns the objects of this session's earlier run.
   */
  openSession(tsi: number, source: string | undefined): ObjectStateFile[] {
    const j = readJournal(this.dir);
    const same = j.session !== undefined && j.session.tsi === tsi && (source === undefined || j.session.source === undefined || j.session.source === source);
    if (!same) {
      for (const name of readdirSync(this.dir)) rmSync(join(this.dir, name), { force: true, recursive: true });
      this.journalFd = openSync(join(this.dir, JOURNAL), 'w');
      this.writeLines([JSON.stringify({ tsi, source })]);
      fdatasyncSync(this.journalFd);
      return [];
    }
    truncateSync(join(this.dir, JOURNAL), j.validBytes);
    this.journalFd = openSync(join(this.dir, JOURNAL), 'a');
    const out: ObjectStateFile[] = [];
    for (const st of j.objects.values()) {
      // Its part was renamed into place but the crash came before the journal said so: again.
      if (!st.verified && st.done.length > 0 && !existsSync(this.partPath(st.toi))) st.done = [];
      this.objects.set(st.toi, st);
      this.symbolSize.set(st.toi, st.oti.symbolSize);
      this.loggedDone.set(st.toi, st.done.length);
      this.resumed.add(st.toi);
      out.push(st);
    }
    this.removeStrays();
    return out;
  }

  /** Spools and parts of objects the journal does not know (or knows as verified). */
  private removeStrays(): void {
    for (const name of readdirSync(this.dir)) {
      const m = /^(\d+)\.(spool|part)$/.exec(name);
      if (m === null) continue;
      const st = this.objects.get(Number(m[1]));
      if (st === undefined || st.verified) rmSync(join(this.dir, name), { force: true });
    }
  }

  partPath(toi: number): string {
    return join(this.dir, `${toi}.part`);
  }

  private spoolPath(toi: number): string {
    return join(this.dir, `${toi}.spool`);
  }

  /** A new object: journalled at the next flush, after the spool records it covers are synced. */
  addObject(toi: number, oti: FecOti): void {
    if (this.objects.has(toi)) return;
    this.objects.set(toi, { toi, oti, done: [], verified: false });
    this.symbolSize.set(toi, oti.symbolSize);
    this.loggedDone.set(toi, 0);
    this.lines.push(JSON.stringify({ o: toi, oti }));
  }

  object(toi: number): ObjectStateFile | undefined {
    return this.objects.get(toi);
  }

  setHeader(toi: number, headerBytes: Uint8Array, path: string | undefined): void {
    const st = this.objects.get(toi);
    if (st === undefined) return;
    st.header = Buffer.from(headerBytes).toString('base64');
    if (path !== undefined) st.path = path;
    this.lines.push(JSON.stringify({ h: toi, header: st.header, ...(path === undefined ? {} : { path }) }));
  }

  markBlockDone(toi: number, sbn: number): void {
    const st = this.objects.get(toi);
    if (st === undefined) return;
    st.done.push(sbn);
    this.dirtyObjects.add(toi);
    let set = this.doneThisRun.get(toi);
    if (set === undefined) this.doneThisRun.set(toi, (set = new Set()));
    set.add(sbn);
  }

  /** The object is delivered: its spool goes, the journal says verified at the next flush. */
  markVerified(toi: number): void {
    const st = this.objects.get(toi);
    if (st === undefined) return;
    st.verified = true;
    st.done = [];
    this.dirtyObjects.delete(toi);
    this.lines.push(JSON.stringify({ v: toi }));
    this.dropSpool(toi);
    // Unlinking a large spool takes a while: off the receive loop. One never written needs nothing.
    if (this.onDisk.delete(toi)) rm(this.spoolPath(toi), { force: true }, () => undefined);
  }

  /**
   * Every block of the object is in its part file (it is being verified): its spool records are
   * not needed any more, so its write-behind buffer and descriptor go now, not at verification
   * (thousands of small files decoded ahead of their verification would otherwise each open a
   * spool file at the next flush: EMFILE). A crash before the next flush costs receiving its
   * blocks again, nothing else. The file itself goes at markVerified or dropObject.
   */
  objectDecoded(toi: number): void {
    this.dropSpool(toi);
  }

  /** The object was rejected: forget everything about it. */
  dropObject(toi: number): void {
    this.dropSpool(toi);
    this.onDisk.delete(toi);
    rmSync(this.spoolPath(toi), { force: true });
    rmSync(this.partPath(toi), { force: true });
    this.objects.delete(toi);
    this.dirtyObjects.delete(toi);
    this.lines.push(JSON.stringify({ x: toi }));
  }

  /** Close an object's spool, its held records discarded. */
  private dropSpool(toi: number): void {
    this.doneThisRun.delete(toi);
    const s = this.spools.get(toi);
    if (s === undefined) return;
    this.spools.delete(toi);
    this.heldBytes -= s.heldBytes;
    if (s.fd !== undefined) closeSync(s.fd);
  }

  private spool(toi: number): OpenSpool {
    let s = this.spools.get(toi);
    if (s === undefined) {
      s = { fd: undefined, records: 0, fileRecords: 0, base: 0, slots: new Uint32Array(CHUNK_START_RECORDS), chunks: [], lastBytes: 0, heldBytes: 0, firstHeld: 0, dirty: false };
      // A spool from an earlier run: continue after its last whole record.
      if (this.resumed.has(toi) && existsSync(this.spoolPath(toi))) this.openFile(toi, s);
      s.base = s.records;
      s.firstHeld = s.records;
      this.spools.set(toi, s);
    }
    return s;
  }

  private openFile(toi: number, s: OpenSpool): number {
    const fd = openSync(this.spoolPath(toi), 'a+');
    this.onDisk.add(toi);
    const size = RECORD_HEADER + this.symbolSize.get(toi)!;
    const bytes = fstatSync(fd).size;
    const records = Math.floor(bytes / size);
    // A torn record from a crash mid-write: cut it off.
    if (records * size !== bytes) ftruncateSync(fd, records * size);
    s.fd = fd;
    s.records += records;
    s.fileRecords += records;
    return fd;
  }

  /**
   * Write the held records out (before a read-back, a sync, a close, or over HOLD_BYTES), less
   * those of blocks written to .part meanwhile: each chunk compacted in place, one write(2) each.
   */
  private writeHeld(toi: number, s: OpenSpool): void {
    if (s.heldBytes === 0) return;
    const size = RECORD_HEADER + this.symbolSize.get(toi)!;
    const done = this.doneThisRun.get(toi);
    let record = s.firstHeld;
    for (const [i, chunk] of s.chunks.entries()) {
      const used = i === s.chunks.length - 1 ? s.lastBytes : chunk.length - (chunk.length % size);
      let kept = 0;
      for (let at = 0; at < used; at += size, record++) {
        if (done !== undefined && done.has(chunk.readUInt32BE(at))) {
          this.spoolStats.droppedBytes += size;
          continue;
        }
        if (kept !== at) chunk.copyWithin(kept, at, at + size);
        kept += size;
        s.slots[record - s.base] = s.fileRecords++;
      }
      if (kept === 0) continue;
      const fd = s.fd ?? this.openFile(toi, s);
      let written = 0;
      while (written < kept) written += writeSync(fd, chunk, written, kept - written);
      this.spoolStats.writtenBytes += kept;
      s.dirty = true;
    }
    this.heldBytes -= s.heldBytes;
    s.heldBytes = 0;
    s.firstHeld = record;
    // The first chunk is kept for the next records; the rest go to the GC.
    s.chunks.length = Math.min(1, s.chunks.length);
    s.lastBytes = 0;
  }

  /** Append record `record` (must be the next one): held until it must reach the disk. */
  append(toi: number, record: number, sbn: number, esi: number, symbol: Uint8Array): void {
    const s = this.spool(toi);
    const e = this.symbolSize.get(toi)!;
    if (record !== s.records) throw new Error(`spool of TOI ${toi}: record ${record}, expected ${s.records}`);
    const size = RECORD_HEADER + e;
    let chunk = s.chunks[s.chunks.length - 1];
    if (chunk === undefined || s.lastBytes + size > chunk.length) {
      chunk = Buffer.allocUnsafe(chunk === undefined ? CHUNK_START_RECORDS * size : Math.max(size, Math.min(CHUNK_BYTES, chunk.length * 2)));
      s.chunks.push(chunk);
      s.lastBytes = 0;
    }
    if (record - s.base >= s.slots.length) {
      const grown = new Uint32Array(s.slots.length * 2);
      grown.set(s.slots);
      s.slots = grown;
    }
    s.slots[record - s.base] = NO_SLOT;
    const at = s.lastBytes;
    chunk.writeUInt32BE(sbn, at);
    chunk.writeUInt32BE(esi, at + 4);
    chunk.set(symbol, at + RECORD_HEADER);
    // A short last symbol is zero-padded to E.
    if (symbol.length < e) chunk.fill(0, at + RECORD_HEADER + symbol.length, at + size);
    s.lastBytes += size;
    s.heldBytes += size;
    s.records++;
    this.heldBytes += size;
    if (this.heldBytes > this.holdBytes) for (const [t, o] of this.spools) this.writeHeld(t, o);
  }

  /** Read records back for a decode. */
  *read(toi: number, records: Uint32Array): Generator<{ esi: number; symbol: Uint8Array }> {
    const s = this.spool(toi);
    this.writeHeld(toi, s);
    const e = this.symbolSize.get(toi)!;
    const size = RECORD_HEADER + e;
    const buf = Buffer.alloc(size);
    if (s.fd === undefined) return;
    for (const r of records) {
      const slot = r < s.base ? r : (s.slots[r - s.base] ?? NO_SLOT);
      if (slot === NO_SLOT || readSync(s.fd, buf, 0, size, slot * size) !== size) continue;
      yield { esi: buf.readUInt32BE(4), symbol: buf.subarray(RECORD_HEADER) };
    }
  }

  /**
   * Every record header of an object's spool, for the core's restore (on resume, before any
   * record of this run: then file and core record numbers are the same); returns the count.
   */
  scan(toi: number, each: (record: number, sbn: number, esi: number) => void): number {
    if (!existsSync(this.spoolPath(toi))) return 0;
    const s = this.spool(toi);
    this.writeHeld(toi, s);
    if (s.fd === undefined) return 0;
    const e = this.symbolSize.get(toi)!;
    const size = RECORD_HEADER + e;
    // Read in large chunks: a 4 GB object's spool has millions of records.
    const per = Math.max(1, Math.floor((4 << 20) / size));
    const buf = Buffer.alloc(per * size);
    for (let first = 0; first < s.fileRecords; first += per) {
      const n = Math.min(per, s.fileRecords - first);
      const got = readSync(s.fd, buf, 0, n * size, first * size);
      for (let i = 0; i * size + RECORD_HEADER <= got; i++) each(first + i, buf.readUInt32BE(i * size), buf.readUInt32BE(i * size + 4));
    }
    return s.records;
  }

  /**
   * Make spools and parts durable, then journal what they hold. The fdatasync calls run on
   * libuv's thread pool: a sync of a large file must not stall the receive loop while the
   * socket buffer fills. Overlapping calls are skipped (the next tick catches up).
   */
  async flush(syncPart: (toi: number) => Promise<void>): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      const syncs: Promise<void>[] = [];
      for (const [toi, s] of this.spools) {
        this.writeHeld(toi, s);
        if (!s.dirty || s.fd === undefined) continue;
        s.dirty = false;
        syncs.push(fdatasyncQuiet(s.fd));
      }
      // Blocks done up to now are covered by the part-file syncs started now; later ones wait.
      const lines = this.takeLines();
      for (const toi of this.dirtyObjects) syncs.push(syncPart(toi));
      this.dirtyObjects.clear();
      await Promise.all(syncs);
      // Only now may the journal say that a block is in its part file.
      if (lines.length > 0 && this.journalFd !== undefined) {
        this.writeLines(lines);
        await fdatasyncQuiet(this.journalFd);
      }
    } finally {
      this.flushing = false;
    }
  }

  private flushing = false;

  /** Synchronous flush for the end of a run (nothing else is going on then). */
  flushNow(syncPart: (toi: number) => void): void {
    for (const [toi, s] of this.spools) {
      this.writeHeld(toi, s);
      if (s.dirty && s.fd !== undefined) fdatasyncSync(s.fd);
      s.dirty = false;
    }
    const lines = this.takeLines();
    for (const toi of this.dirtyObjects) syncPart(toi);
    this.dirtyObjects.clear();
    if (lines.length > 0 && this.journalFd !== undefined) {
      this.writeLines(lines);
      fdatasyncSync(this.journalFd);
    }
  }

  /** Pending lines plus a "d" line per object for the blocks done since its last one. */
  private takeLines(): string[] {
    const lines = this.lines;
    this.lines = [];
    for (const toi of this.dirtyObjects) {
      const st = this.objects.get(toi);
      const from = this.loggedDone.get(toi) ?? 0;
      if (st === undefined || st.done.length === from) continue;
      lines.push(JSON.stringify({ d: toi, sbn: st.done.slice(from) }));
      this.loggedDone.set(toi, st.done.length);
    }
    return lines;
  }

  private writeLines(lines: readonly string[]): void {
    const buf = Buffer.from(`${lines.join('\n')}\n`);
    let done = 0;
    while (done < buf.length) done += writeSync(this.journalFd!, buf, done, buf.length - done);
  }

  close(): void {
    for (const [toi, s] of this.spools) {
      this.writeHeld(toi, s);
      if (s.fd !== undefined) closeSync(s.fd);
    }
    this.spools.clear();
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = undefined;
  }

  /** Remove the whole state folder (after a complete, verified receive). */
  remove(): void {
    for (const s of this.spools.values()) if (s.fd !== undefined) closeSync(s.fd);
    this.spools.clear();
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** fdatasync on the thread pool; a descriptor closed meanwhile (object verified) is not an error. */
function fdatasyncQuiet(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (e) => (e === null || e.code === 'EBADF' ? resolve() : reject(e))));
}

// Receiver resume state under DIR/.fcast (the shell side of src/assembly; RFC 6968 §3.8 says
// nothing about restarts, so the layout is ours):
//
//   DIR/.fcast/state.log               journal: session line, then one JSON line per change
//   DIR/.fcast/<toi>.spool             append-only symbol records of the object's open blocks
//   DIR/.fcast/<toi>.part              the object's data as blocks decode (renamed when verified)
//
// Journal lines: {"tsi","source"} first, then {"o":toi,"oti"} object opened, {"h":toi,"header",
// "path"} FCAST header known (base64 of the bytes before the data), {"d":toi,"sbn":[...]} blocks
// written to .part and synced, {"b":id} the kernel's boot id (written when a run opens the
// folder), {"w":toi,"sbn":[...]} blocks written to .part, not yet synced, {"v":toi} verified and
// delivered, {"x":toi} dropped. Replayed in order on resume; a torn last line (crash mid-append)
// is cut off. A "w" line counts only if the last "b" line before it names the boot resuming:
// then the part file's pages it speaks of are still in the page cache (the process died, the
// machine did not); after a reboot the block is received again, since only "d" blocks were synced.
//
// Why one journal, not a state file per object: with 2000 small files a file per object cost a
// write + fsync + rename at open, at header, per flush and at verify: 26 of the receiver's 44 s
// (bench/small-files.mjs). The journal takes every change of a flush interval in one append and
// one fdatasync, whatever the number of objects.
//
// Spool record, fixed size so record r sits at r · (8 + E): sbn (u32) | esi (u32) | E bytes; a
// short last symbol is zero-padded, as decoders expect anyway (RFC 5052 §9.1). Records are never
// rewritten; a torn tail after a crash is cut to whole records on resume. Records wait in a
// write-behind buffer; the spool file is created only when they must reach the disk (buffer
// full, a read-back, a flush), so an object delivered within a flush interval (a small file)
// never touches the disk for its spool.
//
// Why it is safe after kill -9: a block is journalled as done ("d") only after its bytes were
// written and fdatasync'd to .part (flush: spools and parts synced first, then the journal
// appended and synced); a spool's records are synced before the journal line that opens its
// object, so every received symbol is either in a done block or in a spool the journal knows.
// A block is also journalled as written ("w") the moment its bytes are in .part: the receiver
// core may then have dropped its symbols without spooling them (Receiver spoolDelayMs: a hot
// block's symbols wait in its decoder and are spooled only if it has not decoded within that
// delay), so after kill -9 the "w" line, not the spool, says the block is done. Spools and parts the
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
  /** Entries of `done` from "d" lines (synced); those after them come from "w" lines of this boot. */
  synced: number;
}

interface OpenSpool {
  /** E of the object (a record is 8 + E bytes). */
  readonly symbolSize: number;
  /** Opened on the first write to disk. */
  fd: number | undefined;
  /** Records in the file plus those still in `pending`. */
  records: number;
  /** Write-behind buffer of whole records: one write(2) per ~256 KiB instead of one per packet. */
  pending: Buffer;
  pendingBytes: number;
  dirty: boolean;
}

const PENDING_BYTES = 256 * 1024;
/** A new object's write-behind buffer holds this many records, doubling up to PENDING_BYTES (small files stay small). */
const PENDING_START_RECORDS = 4;

type JournalLine =
  | { readonly o: number; readonly oti: FecOti }
  | { readonly h: number; readonly header: string; readonly path?: string }
  | { readonly d: number; readonly sbn: readonly number[] }
  | { readonly w: number; readonly sbn: readonly number[] }
  | { readonly b: string }
  | { readonly v: number }
  | { readonly x: number };

let bootIdCache: string | null | undefined;

/** The kernel's boot id (Linux), or undefined where there is none to read. */
export function currentBootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootIdCache = null;
    }
  }
  return bootIdCache ?? undefined;
}

/**
 * Replay a state folder's journal (also for tests that inspect a receiver's state after a kill):
 * the objects it knows, by TOI, and the session it belongs to. "w" lines count when written
 * under boot `bootId` (default: this boot).
 */
export function readJournal(stateDir: string, bootId = currentBootId()): { session: { tsi: number; source: string | undefined } | undefined; objects: Map<number, ObjectStateFile>; validBytes: number } {
  const objects = new Map<number, ObjectStateFile>();
  const written = new Map<number, Set<number>>();
  let boot: string | undefined;
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
    } else if ('b' in (line as JournalLine)) {
      boot = (line as { b: string }).b;
    } else if ('w' in (line as JournalLine)) {
      const w = line as { w: number; sbn: number[] };
      if (bootId !== undefined && boot === bootId && objects.get(w.w)?.verified === false) {
        const set = written.get(w.w) ?? new Set<number>();
        for (const sbn of w.sbn) set.add(sbn);
        written.set(w.w, set);
      }
    } else {
      const l = line as JournalLine;
      applyLine(objects, l);
      // A block journalled again later ("d" after "w", or the object verified or dropped).
      if ('v' in l) written.delete(l.v);
      else if ('x' in l) written.delete(l.x);
    }
    at = nl + 1;
  }
  for (const [toi, set] of written) {
    const st = objects.get(toi);
    if (st === undefined || st.verified) continue;
    st.synced = st.done.length;
    for (const sbn of st.done) set.delete(sbn);
    st.done.push(...set);
  }
  return { session, objects, validBytes: Buffer.byteLength(text.slice(0, at)) };
}

function applyLine(objects: Map<number, ObjectStateFile>, line: JournalLine): void {
  if ('o' in line) {
    if (!objects.has(line.o)) objects.set(line.o, { toi: line.o, oti: line.oti, done: [], verified: false, synced: 0 });
  } else if ('h' in line) {
    const st = objects.get(line.h);
    if (st === undefined) return;
    st.header = line.header;
    if (line.path !== undefined) st.path = line.path;
  } else if ('d' in line) {
    const st = objects.get(line.d);
    if (st === undefined) return;
    st.done.push(...line.sbn);
    st.synced = st.done.length;
  } else if ('v' in line) {
    const st = objects.get(line.v);
    if (st === undefined) return;
    st.verified = true;
    st.done = [];
    st.synced = 0;
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

  /**
   * The kernel's boot id: blocks are journalled as written ("w") the moment they are, so the
   * receiver core may defer spooling (Receiver spoolDelayMs). Undefined where there is none: no
   * "w" lines, and the core must spool every symbol at once.
   */
  readonly bootId: string | undefined = currentBootId();

  constructor(outDir: string) {
    this.dir = join(outDir, STATE_DIR);
    mkdirSync(this.dir, { recursive: true });
  }

  /** The "b" line of this run (before any "w" line of it), when there is a boot id. */
  private bootLine(): string[] {
    return this.bootId === undefined ? [] : [JSON.stringify({ b: this.bootId })];
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
      // Synced by the first flush, with everything it covers: a sync here stalled the receive
      // loop 13-29 ms at the first packet (strace, netns harness), and before that flush a power
      // loss finds no record a journal line could point to anyway (kill -9 keeps the write).
      this.writeLines([JSON.stringify({ tsi, source }), ...this.bootLine()]);
      return [];
    }
    truncateSync(join(this.dir, JOURNAL), j.validBytes);
    this.journalFd = openSync(join(this.dir, JOURNAL), 'a');
    const boot = this.bootLine();
    if (boot.length > 0) this.writeLines(boot);
    const out: ObjectStateFile[] = [];
    for (const st of j.objects.values()) {
      // Its part was renamed into place but the crash came before the journal said so: again.
      if (!st.verified && st.done.length > 0 && !existsSync(this.partPath(st.toi))) {
        st.done = [];
        st.synced = 0;
      }
      this.objects.set(st.toi, st);
      this.symbolSize.set(st.toi, st.oti.symbolSize);
      // Blocks known only from "w" lines get their "d" line after the next flush's part sync.
      this.loggedDone.set(st.toi, st.synced);
      if (st.synced < st.done.length) this.dirtyObjects.add(st.toi);
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

  /**
   * A new object: journalled at once (written, synced at the next flush). Resume deletes the
   * spools the journal does not know, so while this line waited for the flush (5 s) a kill -9
   * lost every symbol of the object. The lines before it go first, in order; the "d" lines
   * still wait for their part-file syncs.
   */
  addObject(toi: number, oti: FecOti): void {
    if (this.objects.has(toi)) return;
    this.objects.set(toi, { toi, oti, done: [], verified: false, synced: 0 });
    this.symbolSize.set(toi, oti.symbolSize);
    this.loggedDone.set(toi, 0);
    this.lines.push(JSON.stringify({ o: toi, oti }));
    if (this.journalFd === undefined) return;
    this.writeLines(this.lines);
    this.lines = [];
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

  /**
   * Block `sbn` is in the object's part file (written, in the page cache): journalled at once as
   * written ("w", no sync), and as done ("d") after the next flush's part sync.
   */
  markBlockDone(toi: number, sbn: number): void {
    const st = this.objects.get(toi);
    if (st === undefined) return;
    st.done.push(sbn);
    this.dirtyObjects.add(toi);
    if (this.bootId === undefined || this.journalFd === undefined) return;
    // After the lines waiting for the flush: the object's header line ("h") must come first, or
    // a resume would find block 0 done and the header bytes (cut off before .part) nowhere.
    this.lines.push(JSON.stringify({ w: toi, sbn: [sbn] }));
    this.writeLines(this.lines);
    this.lines = [];
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

  /** Close an object's spool, its buffered records discarded. */
  private dropSpool(toi: number): void {
    const s = this.spools.get(toi);
    if (s === undefined) return;
    this.spools.delete(toi);
    if (s.fd !== undefined) closeSync(s.fd);
  }

  private spool(toi: number): OpenSpool {
    let s = this.spools.get(toi);
    if (s === undefined) {
      const e = this.symbolSize.get(toi)!;
      s = { symbolSize: e, fd: undefined, records: 0, pending: Buffer.allocUnsafe(PENDING_START_RECORDS * (RECORD_HEADER + e)), pendingBytes: 0, dirty: false };
      // A spool from an earlier run: continue after its last whole record.
      if (this.resumed.has(toi) && existsSync(this.spoolPath(toi))) this.openFile(toi, s);
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
    return fd;
  }

  /** Write the buffered records out (before a read-back, a sync, a close). */
  private writePending(toi: number, s: OpenSpool): void {
    if (s.pendingBytes === 0) return;
    const fd = s.fd ?? this.openFile(toi, s);
    const size = s.pendingBytes;
    let done = 0;
    while (done < size) done += writeSync(fd, s.pending, done, size - done);
    s.pendingBytes = 0;
    s.dirty = true;
  }

  /** Append record `record` (must be the next one). */
  append(toi: number, record: number, sbn: number, esi: number, symbol: Uint8Array): void {
    const s = this.spoolAt(toi, record);
    this.put(toi, s, sbn, esi, symbol);
  }

  /**
   * Append records `record` … `record + count − 1` (the first must be the next one): record i is
   * ESI esis[i] of block sbns[i], its symbol data[offsets[i], offsets[i] + lengths[i]).
   */
  appendRun(toi: number, record: number, count: number, sbns: Uint32Array, esis: Uint32Array, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array): void {
    const s = this.spoolAt(toi, record);
    for (let i = 0; i < count; i++) this.put(toi, s, sbns[i]!, esis[i]!, data.subarray(offsets[i]!, offsets[i]! + lengths[i]!));
  }

  private spoolAt(toi: number, record: number): OpenSpool {
    const s = this.spool(toi);
    if (record !== s.records) throw new Error(`spool of TOI ${toi}: record ${record}, expected ${s.records}`);
    return s;
  }

  private put(toi: number, s: OpenSpool, sbn: number, esi: number, symbol: Uint8Array): void {
    const e = s.symbolSize;
    const size = RECORD_HEADER + e;
    if (s.pendingBytes + size > s.pending.length) {
      if (s.pending.length < PENDING_BYTES) {
        const grown = Buffer.allocUnsafe(Math.max(size, Math.min(PENDING_BYTES, s.pending.length * 2)));
        s.pending.copy(grown, 0, 0, s.pendingBytes);
        s.pending = grown;
      } else {
        this.writePending(toi, s);
      }
    }
    const at = s.pendingBytes;
    s.pending.writeUInt32BE(sbn, at);
    s.pending.writeUInt32BE(esi, at + 4);
    s.pending.set(symbol, at + RECORD_HEADER);
    // A short last symbol is zero-padded to E.
    if (symbol.length < e) s.pending.fill(0, at + RECORD_HEADER + symbol.length, at + size);
    s.pendingBytes += size;
    s.records++;
  }

  /** Read records back for a decode. */
  *read(toi: number, records: Uint32Array): Generator<{ esi: number; symbol: Uint8Array }> {
    const s = this.spool(toi);
    this.writePending(toi, s);
    const e = this.symbolSize.get(toi)!;
    const size = RECORD_HEADER + e;
    const buf = Buffer.alloc(size);
    if (s.fd === undefined) return;
    for (const r of records) {
      if (readSync(s.fd, buf, 0, size, r * size) !== size) continue;
      yield { esi: buf.readUInt32BE(4), symbol: buf.subarray(RECORD_HEADER) };
    }
  }

  /** Every record header of an object's spool, for the core's restore; returns the record count. */
  scan(toi: number, each: (record: number, sbn: number, esi: number) => void): number {
    if (!existsSync(this.spoolPath(toi))) return 0;
    const s = this.spool(toi);
    this.writePending(toi, s);
    if (s.fd === undefined) return 0;
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
        this.writePending(toi, s);
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
      this.writePending(toi, s);
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
      this.writePending(toi, s);
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

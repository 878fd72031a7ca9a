// Progress of `fcast receive`: per object % decoded, received rate, FEC overhead so far
// (symbols stored / source symbols of the blocks done), as listr2 output lines on a TTY or
// plain log lines otherwise; and the --json summary shape.
import type { ObjectReport, ReceiveProgress, ReceiveResult } from '../net/receive-session.js';

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function pct(o: ObjectReport): number {
  if (o.phase === 'verified' || o.phase === 'decoded') return 100;
  if (o.k === 0) return 0;
  // Blocks done count fully; the rest of the symbols count up to k.
  return Math.min(99.9, (100 * Math.min(o.symbols, o.k)) / o.k);
}

function label(o: ObjectReport): string {
  return o.path ?? `TOI ${o.toi}`;
}

/** WEBRC sessions: joined layers, target rate and measured loss. */
function webrcPart(p: ReceiveProgress): string {
  const w = p.webrc;
  if (w === undefined) return '';
  return `  layers ${w.layers}/${w.maxLayers}  target ${(w.targetBitsPerSecond / 1e6).toFixed(1)} Mbit/s  loss ${(100 * w.lossRatio).toFixed(2)}%`;
}

/**
 * Lines for the listr2 task output (one per object still in progress, plus a total). With
 * maxLines 0 (the plain status line) the total line says how many are in progress instead.
 */
export function progressLines(p: ReceiveProgress, maxLines = 12): string {
  const secs = Math.max(p.elapsedMs / 1000, 0.001);
  const done = p.objects.filter((o) => o.phase === 'verified').length;
  const total = p.instance?.objects ?? p.objects.length;
  const lines = [`${done}/${total} objects verified  ${mb(p.stats.bytes)} in ${secs.toFixed(1)} s (${((p.stats.bytes * 8) / secs / 1e6).toFixed(1)} Mbit/s)  packets ${p.stats.packets}${webrcPart(p)}`];
  const active = p.objects.filter((o) => o.phase === 'receiving' || o.phase === 'decoded');
  for (const o of active.slice(0, maxLines)) {
    const overhead = o.k > 0 ? (o.symbols / o.k).toFixed(3) : '-';
    lines.push(`${pct(o).toFixed(1).padStart(5)}%  ${label(o)}  blocks ${o.blocksDone}/${o.blocks}  symbols/k ${overhead}`);
  }
  if (maxLines === 0) lines[0] += `  ${active.length} in progress`;
  else if (active.length > maxLines) lines.push(`… and ${active.length - maxLines} more`);
  return lines.join('\n');
}

/** One plain line (non-TTY), and a line per object newly verified since `seen`. */
export function plainLines(p: ReceiveProgress, seen: Set<number>): string[] {
  const out: string[] = [];
  for (const o of p.objects) {
    if (o.phase !== 'verified' || seen.has(o.toi)) continue;
    seen.add(o.toi);
    out.push(`verified ${label(o)} (${o.bytes ?? 0} bytes, ${o.ms ?? 0} ms, symbols/k ${o.k > 0 ? (o.symbols / o.k).toFixed(3) : '-'})`);
  }
  return out;
}

export interface ReceiveObjectSummary {
  readonly toi: number;
  readonly path: string | undefined;
  readonly file: string | undefined;
  readonly state: string;
  readonly bytes: number | undefined;
  readonly ms: number | undefined;
  readonly packets: number;
  /** Distinct symbols stored, and the source symbols k that a perfect code would need. */
  readonly symbols: number;
  readonly k: number;
  readonly restoredSymbols: number;
  readonly error: string | undefined;
}

export interface ReceiveSummary {
  readonly status: ReceiveResult['status'];
  readonly session: ReceiveResult['session'];
  readonly elapsedMs: number;
  readonly packets: number;
  readonly bytes: number;
  readonly duplicates: number;
  readonly otherSession: number;
  readonly dropped: ReceiveResult['stats']['dropped'];
  readonly recvBufferSize: number;
  readonly objects: readonly ReceiveObjectSummary[];
  readonly missing: ReceiveResult['missing'];
  /** WEBRC sessions: layers, target rate, loss, joins/leaves (src/net/webrc-groups.ts). */
  readonly webrc?: ReceiveResult['webrc'];
}

export function summarize(r: ReceiveResult): ReceiveSummary {
  return {
    status: r.status,
    session: r.session,
    elapsedMs: r.elapsedMs,
    packets: r.stats.packets,
    bytes: r.stats.bytes,
    duplicates: r.stats.duplicates,
    otherSession: r.stats.otherSession,
    dropped: r.stats.dropped,
    recvBufferSize: r.recvBufferSize,
    objects: r.objects.map((o) => ({
      toi: o.toi,
      path: o.path,
      file: o.file,
      state: o.phase,
      bytes: o.bytes,
      ms: o.ms,
      packets: o.packets,
      symbols: o.symbols,
      k: o.k,
      restoredSymbols: o.restored,
      error: o.rejectCode,
    })),
    missing: r.missing,
    ...(r.webrc === undefined ? {} : { webrc: r.webrc }),
  };
}

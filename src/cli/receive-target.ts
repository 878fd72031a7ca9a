// What `fcast receive SESSION` joins: a session description file (SDP or JSON), an http(s) URL
// to one (seed 002's /.well-known/fcast/<session>.sdp), or a bare GROUP:PORT, in which case the
// receiver follows the first session it hears and learns the rest in band (EXT_FTI, CIDs).
import { closeSync, openSync, readSync } from 'node:fs';
import { isIP } from 'node:net';
import { FcastError, isFcastError, LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { MAX_SESSION_TEXT, parseSession, type SessionRate } from '../wire/session.js';
import { retryDelayMs } from '../net/flex-receiver.js';
import { parseEndpoint, parseFcastUrl, type FlexEndpoint } from './flex-receive.js';

export interface ReceiveTarget {
  readonly channels: readonly { readonly group: string; readonly port: number; readonly cn?: number }[];
  /** Rate control of the session (from a description; absent for a bare GROUP:PORT). */
  readonly rate?: SessionRate;
  readonly tsi: number | undefined;
  readonly source: string | undefined;
  /** Where the description came from, for messages. */
  readonly from: 'file' | 'url' | 'address' | 'flexicast';
  /** The session's flexicast endpoint (an fcast:// URL, or a description naming one): receive through it. */
  readonly flexicast?: FlexEndpoint;
  /** Time spent waiting for an http(s) description that was not up yet (ms; counts against --timeout). */
  readonly waitedMs?: number;
}

export interface ResolveOptions {
  /** Bound on the wait for an http(s) description that is not up yet (none: wait until it is). */
  readonly timeoutMs?: number;
  /** Waiting messages (at most one every FETCH_NOTICE_MS). */
  readonly onNotice?: (text: string) => void;
  /** Retry backoff (tests): the wait before attempt n + 1. */
  readonly retryDelayMs?: (n: number) => number;
}

/** HTTP answers that may change by waiting: not published yet, server starting or overloaded. */
const RETRY_STATUS = new Set([404, 408, 425, 429, 500, 502, 503, 504]);
const FETCH_NOTICE_MS = 5000;

function isMulticast(addr: string): boolean {
  if (isIP(addr) === 4) {
    const first = Number(addr.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return isIP(addr) === 6 && /^ff/i.test(addr);
}

/** `239.1.2.3:5000` or `[ff3e::1234]:5000`; undefined when the text is not of that shape. */
export function parseGroupPort(text: string): { group: string; port: number } | undefined {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const group = m[1]!;
  const port = Number(m[2]);
  if (isIP(group) === 0 || !isMulticast(group)) throw new LocalProtocolError('USAGE', `${group} is not a multicast group address`);
  if (port < 1 || port > 65535) throw new LocalProtocolError('USAGE', `port ${port} out of range`);
  return { group, port };
}

/** Durations: `500ms`, `30s`, `5m`, `2h`, or a bare number of seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new LocalProtocolError('USAGE', `duration "${text}": expected e.g. 500ms, 30s, 5m, 2h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(m[1]) * unit;
  if (!(ms > 0) || ms > 2 ** 31 - 1) throw new LocalProtocolError('USAGE', `duration "${text}" out of range`);
  return ms;
}

/**
 * The description at `url`. Receivers are often started before their sender publishes it (the
 * announce server down, or up and answering 404): those failures and 5xx are retried with the
 * flexicast connect's backoff (100 ms doubling to 5 s, ± 25 %), bounded by `timeoutMs`; the last
 * failure is then reported as it is (NETWORK exit 6, HTTP status exit 5).
 */
async function fetchWaiting(url: string, opts: ResolveOptions): Promise<{ text: string; waitedMs: number }> {
  const t0 = performance.now();
  const left = (): number => (opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : opts.timeoutMs - (performance.now() - t0));
  let noticeAt = -Infinity;
  for (let n = 1; ; n++) {
    try {
      return { text: await fetchText(url, Math.ceil(Math.min(10_000, Math.max(1, left())))), waitedMs: performance.now() - t0 };
    } catch (e) {
      const again = e instanceof FetchStatus ? RETRY_STATUS.has(e.status) : isFcastError(e) && e.code === 'NETWORK';
      const wait = (opts.retryDelayMs ?? retryDelayMs)(n);
      if (!again || wait >= left()) throw e;
      if (performance.now() - noticeAt >= FETCH_NOTICE_MS) {
        noticeAt = performance.now();
        opts.onNotice?.(`waiting for the session description: ${(e as Error).message}; retrying${opts.timeoutMs === undefined ? '' : ' until --timeout'}`);
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** A description server's HTTP status, kept for the retry rule. */
class FetchStatus extends RemoteProtocolError {
  constructor(
    url: string,
    readonly status: number,
  ) {
    super('SESSION_PARSE', `${url}: HTTP ${status}`);
  }
}

async function fetchText(url: string, timeoutMs: number): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (e) {
    // Unreachable announce server, DNS failure, timeout: the network's fault, not a bug (exit 6).
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new FcastError('NETWORK', 'io', `${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  if (!res.ok) throw new FetchStatus(url, res.status);
  const text = await res.text();
  if (text.length > MAX_SESSION_TEXT) throw new RemoteProtocolError('SESSION_PARSE', `${url}: description too long`);
  return text;
}

/** Reads at most MAX_SESSION_TEXT + 1 bytes, so a huge or endless file (a FIFO, /dev/zero) is refused, not slurped. */
function readSessionFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(MAX_SESSION_TEXT + 1);
    let len = 0;
    for (let n = 1; n > 0 && len < buf.length; len += n) n = readSync(fd, buf, len, buf.length - len, null);
    if (len > MAX_SESSION_TEXT) throw new RemoteProtocolError('SESSION_PARSE', `${path}: description longer than ${MAX_SESSION_TEXT} bytes`);
    return buf.toString('utf8', 0, len);
  } finally {
    closeSync(fd);
  }
}

export async function resolveTarget(session: string, sourceFlag: string | undefined, opts: ResolveOptions = {}): Promise<ReceiveTarget> {
  const addr = parseGroupPort(session);
  if (addr !== undefined) return { channels: [addr], tsi: undefined, source: sourceFlag, from: 'address' };
  const flexicast = parseFcastUrl(session);
  if (flexicast !== undefined) return { channels: [], tsi: undefined, source: sourceFlag, from: 'flexicast', flexicast };
  let text: string;
  let from: 'file' | 'url';
  let waitedMs: number | undefined;
  if (/^https?:\/\//i.test(session)) {
    ({ text, waitedMs } = await fetchWaiting(session, opts));
    from = 'url';
  } else {
    try {
      text = readSessionFile(session);
    } catch (e) {
      if (isFcastError(e)) throw e;
      throw new LocalProtocolError('INPUT_FILE', `${session}: ${(e as Error).message} (expected a session file, URL or GROUP:PORT)`);
    }
    from = 'file';
  }
  const desc = parseSession(text);
  if (sourceFlag !== undefined && desc.source !== undefined && sourceFlag !== desc.source) {
    throw new LocalProtocolError('USAGE', `--source ${sourceFlag} differs from the session's source ${desc.source}`);
  }
  return {
    channels: desc.channels.map((c) => ({ group: c.group, port: c.port, cn: c.cn })),
    rate: desc.rate,
    tsi: desc.tsi,
    source: sourceFlag ?? desc.source,
    from,
    ...(waitedMs === undefined ? {} : { waitedMs }),
    ...(desc.flexicast === undefined ? {} : { flexicast: parseEndpoint(desc.flexicast, desc.senderKey, desc.name) }),
  };
}

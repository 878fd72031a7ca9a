// `fcast receive fcast://HOST:PORT/SESSION?key=<base64url> --key FILE [--no-multicast]`, or a
// session description naming a flexicast endpoint (issue 6): the sender's key is pinned from the
// URL or the description, the receiver's identity comes from --key, and the receive runs through
// src/net/flex-receiver.ts (the session itself is learned from ANNOUNCE).
import { isIP } from 'node:net';
import { Flags } from '@oclif/core';
import { LocalProtocolError } from '../errors.js';
import { flexReceive, type FlexInfo } from '../net/flex-receiver.js';
import { publicKeyFromText, readIdentityFile } from '../net/quic-identity.js';
import type { ReceiveOptions, ReceiveProgress, ReceiveResult } from '../net/receive-session.js';

export const flexicastReceiveFlags = {
  key: Flags.string({ description: 'Receiver identity (`fcast keygen` private key file): needed for a flexicast session.' }),
  'no-multicast': Flags.boolean({ description: 'Flexicast: never join multicast; take everything by unicast from the sender.' }),
};

export interface FlexEndpoint {
  readonly host: string;
  readonly port: number;
  /** Raw sender key, base64url (from ?key= or the description). */
  readonly senderKey: string | undefined;
  readonly name: string | undefined;
}

/** `fcast://HOST:PORT[/SESSION][?key=<base64url>]`; undefined when the text is not such a URL. */
export function parseFcastUrl(text: string): FlexEndpoint | undefined {
  if (!/^fcast:\/\//i.test(text)) return undefined;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new LocalProtocolError('USAGE', `${text}: expected fcast://HOST:PORT/SESSION?key=<base64url>`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(u.port);
  if (host === '' || !(port >= 1 && port <= 65_535)) throw new LocalProtocolError('USAGE', `${text}: expected fcast://HOST:PORT/SESSION`);
  const key = u.searchParams.get('key') ?? undefined;
  const name = u.pathname.replace(/^\//, '');
  return { host, port, senderKey: key, name: name === '' ? undefined : name };
}

/** `host:port` / `[v6]:port` of a session description's `flexicast` field. */
export function parseEndpoint(text: string, senderKey: string | undefined, name: string): FlexEndpoint {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (m === null) throw new LocalProtocolError('USAGE', `flexicast endpoint ${text}`);
  return { host: m[1]!, port: Number(m[2]), senderKey, name };
}

export type FlexResult = ReceiveResult & { readonly flex?: FlexInfo };

/** The receive runner for a flexicast endpoint: checks --key and the pinned sender key first. */
export function flexRunner(ep: FlexEndpoint, flags: { key?: string; 'no-multicast': boolean }): (o: ReceiveOptions) => Promise<FlexResult> {
  if (flags.key === undefined) throw new LocalProtocolError('USAGE', 'a flexicast session needs --key FILE (this receiver\'s identity from fcast keygen)');
  if (ep.senderKey === undefined) throw new LocalProtocolError('USAGE', 'no sender key to pin: add ?key=<base64url> to the fcast:// URL or use the session file');
  if (isIP(ep.host) === 0) throw new LocalProtocolError('USAGE', `flexicast host ${ep.host}: an IP address is needed`);
  const senderKey = publicKeyFromText(ep.senderKey);
  const identity = readIdentityFile(flags.key);
  return ({ channels: _c, tsi: _t, flow: _f, ...o }) => flexReceive({ ...o, host: ep.host, port: ep.port, senderKey, identity, noMulticast: flags['no-multicast'] });
}

/** Progress line suffix: the path in use, unicast bytes, and the control connection when it is down or came back (flexicast receives only). */
export function flexProgress(p: ReceiveProgress): string {
  const f = (p as ReceiveProgress & { flex?: FlexInfo }).flex;
  if (f === undefined) return '';
  const control = f.control.state === 'connecting' ? `  control reconnecting (attempt ${f.control.attempts})` : f.control.connects > 1 ? `  reconnects ${f.control.connects - 1}` : '';
  return `  path ${f.path === 'none' ? '-' : f.path}  unicast ${(f.unicastBytes / 1e6).toFixed(1)} MB${f.pathLog.length > 0 ? `  fallbacks ${f.pathLog.filter((e) => e.path === 'unicast').length}` : ''}${control}`;
}

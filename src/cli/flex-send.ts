// `fcast send --flexicast HOST:PORT --key FILE [--allow FILE|KEY ...]` (issue 6): flag checks,
// the allow-list, and the flexicast sender started before the session description is written (so
// the description carries the real port and the sender's key). The flow is then sealed; without
// --flexicast a session is plain ALC for anonymous receivers, as before.
//
// Allow-list entries (--allow, repeatable): a key `ed25519:<base64url>` (or bare base64url), an
// SPKI PEM public key file (`fcast keygen`'s FILE.pub), or a text file with one key per line in
// the `ed25519:<base64url>` form (examples/keygen/make-keys.sh writes allow-list.txt so); blank
// lines and lines starting with # are skipped.
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Flags } from '@oclif/core';
import { CarouselSender, type SenderConfig } from '../carousel/index.js';
import { FcastError, LocalProtocolError } from '../errors.js';
import { parseHostPort } from '../net/announce.js';
import { FlexSender } from '../net/flex-sender.js';
import { publicKeyFromText, publicKeyText, readIdentityFile, readPublicKeyFile } from '../net/quic-identity.js';
import type { SessionDescription } from '../wire/index.js';
import { parseDuration } from './receive-target.js';

export const flexicastFlags = {
  flexicast: Flags.string({ description: 'Run the flexicast channel: listen for receivers on QUIC HOST:PORT (port 0 = any) and seal the flow.' }),
  key: Flags.string({ description: 'Sender identity for --flexicast: a private key file from `fcast keygen`.' }),
  allow: Flags.string({ description: 'Admit this receiver key (ed25519:<base64url>), public key file, or allow-list file (one key per line); repeatable. Without it every key is admitted.', multiple: true }),
  'fc-msg': Flags.boolean({
    description: 'FC-msg: --fc-msg copies every sealed flow packet to each receiver by unicast UDP (networks without multicast); --no-fc-msg never does. Default: copies only while no receiver gets the flow by multicast.',
    allowNo: true,
  }),
  'unicast-budget': Flags.string({ description: 'Cap on all unicast fallback data together, bits/s (k, M, G suffixes).', default: '200M' }),
  'report-interval': Flags.string({ description: 'Receivers report this often (e.g. 250ms).', default: '250ms' }),
  'fallback-delay': Flags.string({ description: 'D_fb: a receiver whose flow made no progress this long moves to unicast.', default: '1s' }),
  linger: Flags.string({ description: 'After the carousel: serve fallen-back receivers by unicast until all are complete or this long (a lost receiver is waited for 8.5 s from its loss, within this).', default: '60s' }),
  'rotate-interval': Flags.string({ description: 'Flow key rotation period (also on every member\'s leave); 0 = only on leaves.', default: '10m' }),
};

export interface FlexFlagValues {
  readonly flexicast?: string;
  readonly key?: string;
  readonly allow?: string[];
  readonly 'fc-msg'?: boolean;
  readonly 'unicast-budget': string;
  readonly 'report-interval': string;
  readonly 'fallback-delay': string;
  readonly linger: string;
  readonly 'rotate-interval': string;
}

/** Raw keys of an --allow list (keys, PEM files, allow-list files), as base64url text. */
export function readAllowList(entries: readonly string[]): Set<string> {
  const keys = new Set<string>();
  for (const e of entries) {
    if (!existsSync(e)) {
      keys.add(publicKeyText(publicKeyFromText(e.trim())));
      continue;
    }
    const text = readFileSync(e, 'utf8');
    if (text.trimStart().startsWith('-----BEGIN')) {
      keys.add(publicKeyText(readPublicKeyFile(e)));
      continue;
    }
    for (const [i, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      try {
        keys.add(publicKeyText(publicKeyFromText(line)));
      } catch (err) {
        throw new LocalProtocolError('USAGE', `${e} line ${i + 1}: ${(err as Error).message}`);
      }
    }
  }
  return keys;
}

/** Without --flexicast, its companion flags mean nothing: say so instead of ignoring them. */
export function noFlexicast(flags: FlexFlagValues): undefined {
  const stray = [flags.key === undefined ? undefined : '--key', flags.allow === undefined ? undefined : '--allow', flags['fc-msg'] === undefined ? undefined : flags['fc-msg'] ? '--fc-msg' : '--no-fc-msg'].filter((f) => f !== undefined);
  if (stray.length > 0) throw new LocalProtocolError('USAGE', `${stray.join(', ')} need${stray.length === 1 ? 's' : ''} --flexicast HOST:PORT`);
  return undefined;
}

/**
 * Start the flexicast sender for `session` (before its description is written) and return it
 * with the session fields to add. `parseRate` is the send command's bits/s parser.
 */
export async function startFlexicast(
  flags: FlexFlagValues,
  session: SessionDescription,
  core: SenderConfig,
  paths: readonly string[],
  parseRate: (text: string) => number,
): Promise<{ flex: FlexSender; fields: { flexicast: string; senderKey: string }; lingerMs: number }> {
  const hp = parseHostPort(flags.flexicast!);
  if (isIP(hp.host) === 0) throw new LocalProtocolError('USAGE', `--flexicast ${flags.flexicast}: HOST must be an IP address`);
  if (hp.host === '0.0.0.0' || hp.host === '::') throw new LocalProtocolError('USAGE', '--flexicast: give the address receivers connect to, not a wildcard');
  // Not cheap enough to do now: WEBRC receivers read each datagram's CCI (RFC 3738 channel,
  // PSN) before anything else to drive their joins and leaves (src/net/webrc-groups.ts), and a
  // sealed flow hides it; ANNOUNCE would also have to carry the WEBRC parameters and the
  // controller's liveness would have to follow each receiver's layers.
  if (session.rate.control === 'webrc') throw new LocalProtocolError('USAGE', '--flexicast needs a fixed --rate: WEBRC receivers read each packet\'s CCI before anything else, and the sealed flow hides it');
  if (flags.key === undefined) throw new LocalProtocolError('USAGE', '--flexicast needs --key FILE (fcast keygen)');
  const identity = readIdentityFile(flags.key);
  const allow = flags.allow === undefined ? undefined : readAllowList(flags.allow);
  const fec = session.fec[0]!;
  const budgetBits = parseRate(flags['unicast-budget']);
  const reportIntervalMs = parseDuration(flags['report-interval']);
  const dFbMs = parseDuration(flags['fallback-delay']);
  if (reportIntervalMs < 10 || reportIntervalMs > 60_000) throw new LocalProtocolError('USAGE', '--report-interval: 10ms..60s');
  if (dFbMs < reportIntervalMs) throw new LocalProtocolError('USAGE', '--fallback-delay must be at least --report-interval');
  const rotateIntervalMs = flags['rotate-interval'] === '0' ? 0 : parseDuration(flags['rotate-interval']);
  // A rotation hands out the next key one report interval ahead: a shorter period never settles.
  if (rotateIntervalMs !== 0 && rotateIntervalMs < 4 * reportIntervalMs) throw new LocalProtocolError('USAGE', '--rotate-interval must be 0 or at least 4 report intervals');
  // Plan-only copy of the carousel (pure, no I/O): the objects and blocks unicast symbols come from.
  const objects = new CarouselSender(core.mode === 'on-demand' ? { ...core, deadline: core.deadline ?? 0 } : core).planned();
  const flex = await FlexSender.start({
    identity,
    host: hp.host,
    port: hp.port,
    admit: (k) => allow === undefined || allow.has(publicKeyText(k)),
    announce: {
      flowId: randomInt(1, 0xffff_ffff),
      tsi: session.tsi,
      source: session.source ?? (session.family === 'IP4' ? '0.0.0.0' : '::'),
      channels: session.channels.map((c) => ({ address: c.group, port: c.port })),
      fecEncodingId: fec.encodingId,
      fecInstanceId: 0,
      symbolSize: fec.symbolSize,
      maxSourceBlockLength: fec.maxSourceBlockLength,
      maxEncodingSymbols: fec.maxEncodingSymbols ?? fec.maxSourceBlockLength,
      rateBps: session.rate.bitsPerSecond,
      reportIntervalMs,
      dFbMs,
    },
    objects,
    paths,
    unicastBudgetBytesPerSec: budgetBits / 8,
    fcMsg: flags['fc-msg'] === undefined ? 'auto' : flags['fc-msg'] ? 'on' : 'off',
    rotateIntervalMs,
  }).catch((e: unknown) => {
    throw e instanceof FcastError ? e : new FcastError('FLEX_QUIC', 'io', `--flexicast ${flags.flexicast}: ${(e as Error).message}`);
  });
  const host = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
  return { flex, fields: { flexicast: `${host}:${flex.port}`, senderKey: publicKeyText(identity.publicKey) }, lingerMs: parseDuration(flags.linger) };
}

// `fcast send` flags of WEBRC rate control (RFC 3738 §3.1.1; SPEC-NOTES §6.2): SR from --rate,
// P, N, TSD, QD, BCR_P with fcast's LAN defaults when absent (FCAST_WEBRC_DEFAULTS in
// src/rate/params.ts, [ours]: the RFC's set takes 30 s and more to reach a fast path's rate).
// LENP_B comes from the session's packet size, so the resolved parameters are built where the
// session description is (commands/send.ts). The default rate control: webrc for on-demand
// sessions without flexicast that publish their description (--session-file or --announce),
// fixed otherwise (`defaultRateControl`).
import { Flags } from '@oclif/core';
import { LocalProtocolError } from '../errors.js';
import { FCAST_WEBRC_DEFAULTS, resolveWebrcParams, withFcastDefaults, type WebrcParams, type WebrcParamsInput } from '../rate/index.js';

export type RateControlFlag = 'webrc' | 'fixed';

const D = FCAST_WEBRC_DEFAULTS;

export const webrcFlags = {
  'rate-control': Flags.string({
    description:
      'webrc: layered WEBRC channels, each receiver takes what its path carries (--rate is the aggregate); fixed: one channel at --rate. ' +
      'Default: webrc for --mode on-demand with --session-file or --announce; fixed for push (a push sends a fixed number of ' +
      'cycles, and a WEBRC receiver still climbing or on a slow path misses the symbols of the layers it has not joined), ' +
      'with --flexicast (it needs fixed), and for a session that publishes no description (its receivers, given only ' +
      'GROUP:PORT, would hear the base channel alone).',
    options: ['webrc', 'fixed'],
  }),
  'webrc-p': Flags.string({ description: `WEBRC P: per-slot rate decay of a wave, in (0, 1) (default ${D.p}; RFC 3738: 0.75).` }),
  'webrc-n': Flags.integer({ description: 'WEBRC N: active wave channels (default: the most whose peak fits in --rate).', min: 2, max: 255 }),
  'webrc-tsd': Flags.string({ description: `WEBRC TSD: time slot duration in seconds (default ${D.tsd}; RFC 3738 RECOMMENDS 10).` }),
  'webrc-qd': Flags.string({ description: `WEBRC QD: minimum quiescent time of a wave channel in seconds (default ${D.qd}; RFC 3738 RECOMMENDS >= 300).` }),
  'webrc-bcr': Flags.string({
    description: `WEBRC BCR_P: base channel rate at a slot start, packets/s (default ${D.bcr}, less below ~11M so that ${D.minWaves} waves fit; RFC 3738: 1).`,
  }),
};

/**
 * The rate control of a session whose --rate-control is not given (see the flag's description).
 * WEBRC's wave channels and parameters reach a receiver only through the session description
 * (RFC 3738 §3.1.1 leaves their discovery to it): a session that publishes none would leave its
 * receivers on the base channel, so it stays fixed.
 */
export function defaultRateControl(mode: 'push' | 'on-demand', flexicast: boolean, published: boolean): RateControlFlag {
  return mode === 'on-demand' && !flexicast && published ? 'webrc' : 'fixed';
}

export interface WebrcFlagValues {
  readonly 'webrc-p'?: string;
  readonly 'webrc-n'?: number;
  readonly 'webrc-tsd'?: string;
  readonly 'webrc-qd'?: string;
  readonly 'webrc-bcr'?: string;
}

function num(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new LocalProtocolError('USAGE', `--${name} "${text}": expected a number`);
  return v;
}

/** The sender's WEBRC inputs from the flags (LENP_B to be filled in by `webrcParams`). */
export function webrcInput(flags: WebrcFlagValues, srBps: number): Omit<WebrcParamsInput, 'packetLength'> {
  return {
    srBps,
    p: num('webrc-p', flags['webrc-p']),
    n: flags['webrc-n'],
    tsd: num('webrc-tsd', flags['webrc-tsd']),
    qd: num('webrc-qd', flags['webrc-qd']),
    bcr: num('webrc-bcr', flags['webrc-bcr']),
  };
}

/** Resolve with LENP_B = the largest datagram plus IP and UDP headers (SR_b counts them too) and fcast's defaults. */
export function webrcParams(input: Omit<WebrcParamsInput, 'packetLength'>, datagramBytes: number, family: 4 | 6): WebrcParams {
  return resolveWebrcParams(withFcastDefaults({ ...input, packetLength: datagramBytes + (family === 4 ? 28 : 48) }));
}

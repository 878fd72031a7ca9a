// `fcast doctor`'s socket-paths check and sendPathInUse (issue 4): what sends and receives
// datagrams here, and the node:dgram fallback named as such.
import { afterEach, describe, expect, it } from 'vitest';
import { nativeStatus } from '../../../codecs/native.js';
import { CHECKS, runDoctor } from '../../../src/cli/doctor.js';
import { sendPathInUse } from '../../../src/net/batch-send.js';

const only = CHECKS.filter((c) => c.id === 'socket-paths');
const native = process.platform === 'linux' && nativeStatus().loaded;

describe('socket paths', () => {
  afterEach(() => {
    delete process.env.FCAST_SEND_PATH;
    delete process.env.FCAST_RECV_PATH;
  });

  it.runIf(native)('IPv4 sends with sendmmsg (+GSO unless turned off) and receives with recvmmsg; IPv6 uses node:dgram', async () => {
    const r = await runDoctor({ waitMs: 0 }, only);
    expect(r.checks).toHaveLength(1);
    const c = r.checks[0]!;
    expect(c.ok).toBe(true);
    expect(c.data).toMatchObject({ send6: 'dgram', recv4: 'recvmmsg', recv6: 'dgram' });
    expect(['sendmmsg+GSO', 'sendmmsg']).toContain((c.data as { send4: string }).send4);
    expect(c.detail).toMatch(/^send: sendmmsg(\+GSO)? \(IPv4\), dgram \(IPv6\); receive: recvmmsg \(IPv4\), dgram \(IPv6\)$/);
  });

  it('FCAST_SEND_PATH=dgram and FCAST_RECV_PATH=dgram: node:dgram, reported as a warning', async () => {
    process.env.FCAST_SEND_PATH = 'dgram';
    process.env.FCAST_RECV_PATH = 'dgram';
    expect(sendPathInUse(4)).toBe('dgram');
    const c = (await runDoctor({ waitMs: 0 }, only)).checks[0]!;
    expect(c.ok).toBe(false);
    expect(c.data).toMatchObject({ send4: 'dgram', recv4: 'dgram' });
    expect(c.why).toBe('node:dgram sockets');
  });
});

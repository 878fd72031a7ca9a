// The receive progress line's flexicast part (src/cli/flex-receive.ts flexProgress): the path in
// use now (multicast / unicast / both), unicast bytes, fallbacks; nothing for a plain session.
import { describe, expect, it } from 'vitest';
import { flexProgress } from '../../../src/cli/flex-receive.js';
import type { FlexInfo } from '../../../src/net/flex-receiver.js';
import type { ReceiveProgress } from '../../../src/net/receive-session.js';

const info = (over: Partial<FlexInfo>): FlexInfo => ({
  path: 'multicast', pathsUsed: 'multicast', mode: 'auto', groupsJoined: true, flowPackets: 0, flowDuplicates: 0, copyPackets: 0, unicastBytes: 0, unicastPackets: 0,
  flowDropped: {}, pathLog: [], timeline: { bucketMs: 500, flow: [], copy: [], unicast: [], startedAt: 0 },
  control: { state: 'connected', attempts: 1, connects: 1, connectedMs: 0, firstConnectMs: 5, lastError: undefined }, ...over,
});
const line = (flex: FlexInfo | undefined) => flexProgress({ ...(flex === undefined ? {} : { flex }) } as unknown as ReceiveProgress);

describe('flexicast progress line', () => {
  it('shows the path in use, unicast MB and fallbacks', () => {
    expect(line(info({}))).toBe('  path multicast  unicast 0.0 MB');
    expect(line(info({ path: 'unicast', unicastBytes: 2_500_000, pathLog: [{ at: 1, path: 'unicast' }] }))).toBe('  path unicast  unicast 2.5 MB  fallbacks 1');
    expect(line(info({ path: 'both', unicastBytes: 100_000, pathLog: [{ at: 1, path: 'unicast' }, { at: 2, path: 'multicast' }, { at: 3, path: 'unicast' }] })))
      .toBe('  path both  unicast 0.1 MB  fallbacks 2');
    expect(line(info({ path: 'none' }))).toBe('  path -  unicast 0.0 MB');
  });

  it('says when the control connection is down and how often it came back', () => {
    const control = { state: 'connecting', attempts: 7, connects: 1, connectedMs: 900, firstConnectMs: 5, lastError: 'timed out' } as const;
    expect(line(info({ control }))).toBe('  path multicast  unicast 0.0 MB  control reconnecting (attempt 7)');
    expect(line(info({ control: { ...control, state: 'connected', connects: 3 } }))).toBe('  path multicast  unicast 0.0 MB  reconnects 2');
  });

  it('adds nothing to a plain (non-flexicast) receive', () => {
    expect(line(undefined)).toBe('');
  });
});

// `fcast send --until` (src/commands/send.ts untilMs): HH:MM is the next such local time, and an
// impossible HH:MM is a usage error (25:99 was rolled over by Date#setHours into a real time).
import { describe, expect, it } from 'vitest';
import { untilMs } from '../../../src/commands/send.js';

describe('--until', () => {
  const now = new Date(2026, 10, 22, 12, 30, 0, 0).getTime(); // 12:30 local

  it('HH:MM later today, or tomorrow when it has passed', () => {
    expect(untilMs('13:00', now)).toBe(30 * 60_000);
    expect(untilMs('12:00', now)).toBe(new Date(2026, 10, 23, 12, 0, 0, 0).getTime() - now);
    expect(untilMs('0:05', now)).toBe(new Date(2026, 10, 23, 0, 5, 0, 0).getTime() - now);
  });

  it('rejects hours above 23 and minutes above 59 (USAGE)', () => {
    for (const bad of ['25:99', '24:00', '12:60', '99:00']) expect(() => untilMs(bad, now)).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});

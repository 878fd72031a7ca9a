// Waiting for an event instead of sleeping for it, and measuring what a loaded machine took from
// a timing assertion. CI runs the test files two at a time on two cores: a child process can take
// seconds to start, and this process's event loop can stop for hundreds of milliseconds (CI once
// saw a 20 ms poll come 530 ms late).
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';

/** Polls `ok` every `intervalMs` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, ok: () => boolean, timeoutMs: number, intervalMs = 20): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Sockets of this network namespace joined to the IPv4 `group` on `device`, from /proc/net/igmp
 * ("Users"). It prints a group as the host-order number of its network-order bytes (%08X).
 */
export function groupUsers(group: string, device = 'lo'): number {
  const bytes = Buffer.from(group.split('.').map(Number));
  const hex = (endianness() === 'LE' ? bytes.readUInt32LE(0) : bytes.readUInt32BE(0)).toString(16).toUpperCase().padStart(8, '0');
  let current = '';
  let users = 0;
  for (const line of readFileSync('/proc/net/igmp', 'utf8').split('\n')) {
    const dev = /^\d+\s+(\S+)\s*:/.exec(line);
    if (dev !== null) current = dev[1]!;
    const g = /^\s+([0-9A-F]{8})\s+(\d+)/.exec(line);
    if (g !== null && current === device && g[1] === hex) users += Number(g[2]);
  }
  return users;
}

/** Waits until `users` sockets (receiver processes) have joined `group` on `device`. */
export async function waitForGroupUsers(group: string, users: number, timeoutMs: number, device = 'lo'): Promise<void> {
  await waitUntil(`${users} socket(s) joined to ${group} on ${device} (/proc/net/igmp)`, () => groupUsers(group, device) >= users, timeoutMs);
}

/**
 * Time this process's event loop did not run, summed from the gaps of a 5 ms interval timer:
 * each gap's excess over 20 ms (ordinary timer lateness is not counted). A real-time bound on
 * something this process times itself may add what was stalled in its window: during a stall
 * no timer, poll or I/O callback of the component ran either.
 */
export class StallMeter {
  private stalled = 0;
  private last = performance.now();
  // Unref'd: a test that throws before stop() leaves nothing holding its worker open.
  private readonly timer = setInterval(() => {
    const now = performance.now();
    this.stalled += Math.max(0, now - this.last - 20);
    this.last = now;
  }, 5).unref();

  /** Stalled ms since the meter started (take two readings for a window). */
  ms(): number {
    const now = performance.now();
    return this.stalled + Math.max(0, now - this.last - 20);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

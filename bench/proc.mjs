// Process and kernel counters the loopback bench scripts share (small-files, receive-memory,
// spool-writes).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Runs cmd with its stdout and stderr collected; `done` resolves with {code, stdout, stderr}. */
export function spawnCollect(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

/** Udp RcvbufErrors of this network namespace: datagrams the kernel dropped on full socket buffers. */
export function rcvbufErrors() {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')]);
}

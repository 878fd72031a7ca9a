// The mixed tree the receiver-core tests send (0-byte, 1-byte, small and multi-block files in
// nested folders) and the check that a simulated receive rebuilt exactly it.
import { expect } from 'vitest';
import { bytes, type SimFile } from './sim.js';

export const MIXED: readonly SimFile[] = [
  { path: 'empty.txt', data: new Uint8Array(0) },
  { path: 'one.bin', data: new Uint8Array([42]) },
  { path: 'dir/small.bin', data: bytes(1000, 1) },
  { path: 'dir/sub/multi.bin', data: bytes(256 * 64 * 5 + 77, 2), mtime: 1_600_000_000, mode: 0o755 },
];

/** Every file of `files` was delivered, byte for byte, and nothing else. */
export function expectAll(files: readonly SimFile[], got: Map<string, Uint8Array>): void {
  expect([...got.keys()].sort()).toEqual(files.map((f) => f.path).sort());
  for (const f of files) expect(Buffer.from(got.get(f.path)!).equals(Buffer.from(f.data)), f.path).toBe(true);
}

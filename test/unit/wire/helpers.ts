// Shared assertions for the wire tests: a decoder must throw an FcastError with this code.
import { expect } from 'vitest';
import { isFcastError, type ErrorCode } from '../../../src/errors.js';

export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isFcastError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

export function expectCode(f: () => unknown, code: ErrorCode): void {
  expect(codeOf(f)).toBe(code);
}

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

// What the native socket kernels (sendmmsg/sendbatch, recvmmsg) share on the TypeScript side:
// their -errno results as Node-style errors, and IPv4 addresses as the bytes they take and the
// host-order numbers they report.
import { constants } from 'node:os';

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** The addon's -errno as the Node-style error the command layer maps to exit 6. */
export function errnoError(errno: number, what: string): NodeJS.ErrnoException {
  const name = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  return Object.assign(new Error(`${what}: ${name}`), { code: name, errno: -errno });
}

/** A dotted IPv4 address (already checked by the caller) as its four bytes. */
export function v4(address: string): Uint8Array {
  return new Uint8Array(address.split('.').map(Number));
}

/** A sender's IPv4 address as recvmmsg reports it (host order) in dotted form. */
export function dotted(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

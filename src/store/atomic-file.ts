// Files other programs may read while we write them (session descriptions, decoded blocks): they
// appear whole under their name or not at all.
import { randomBytes } from 'node:crypto';
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** Write `parts` to `path` through a temporary file in the same directory and a rename: all or nothing. */
export function writeAtomic(path: string, parts: readonly Uint8Array[]): string {
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, Buffer.concat(parts));
    renameSync(tmp, target);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // The temporary file was never created.
    }
    // The message names the file asked for (a missing or read-only directory), not our
    // temporary name; the error stays the system's (exit 6).
    if (e instanceof Error) e.message = e.message.replace(tmp, target);
    throw e;
  }
  return target;
}

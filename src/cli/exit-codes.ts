// Exit codes of every fcast command: the contract scripts rely on (man/fcast.1 EXIT STATUS).
import { type ErrorCode, type FcastError, isFcastError } from '../errors.js';

export const EXIT = {
  OK: 0,
  /** A bug: an error fcast did not expect. */
  INTERNAL: 1,
  /** Bad flags, arguments or configuration. */
  USAGE: 2,
  /** The work could not be finished: a block not decodable, objects missing when a receive ended. */
  INCOMPLETE: 3,
  /** --timeout expired. */
  TIMEOUT: 4,
  /** Bad data from outside: a corrupt file, session description or peer message. */
  BAD_INPUT: 5,
  /** The operating system refused: file system, sockets, permissions. */
  IO: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_CODE: Partial<Record<ErrorCode, ExitCode>> = {
  USAGE: EXIT.USAGE,
  CONFIG: EXIT.USAGE,
  FEC_PARAMS: EXIT.USAGE,
  OUTPUT_PATH: EXIT.USAGE,
  INPUT_FILE: EXIT.BAD_INPUT,
  FEC_NOT_DECODABLE: EXIT.INCOMPLETE,
  TIMEOUT: EXIT.TIMEOUT,
  INTERNAL: EXIT.INTERNAL,
};

/** Map any thrown value to an exit code. */
export function exitCodeFor(e: unknown): ExitCode {
  if (isFcastError(e)) {
    const err: FcastError = e;
    const byCode = BY_CODE[err.code];
    if (byCode !== undefined) return byCode;
    switch (err.origin) {
      case 'remote':
        return EXIT.BAD_INPUT;
      case 'local':
        return EXIT.USAGE;
      case 'io':
        return EXIT.IO;
      case 'internal':
        return EXIT.INTERNAL;
    }
  }
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno === 'string' && /^E[A-Z]+$/.test(errno)) return EXIT.IO;
  return EXIT.INTERNAL;
}

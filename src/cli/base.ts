// What every fcast command shares: --json (oclif prints what run() returns), --debug, and one
// error path: one clear line on stderr (or a JSON error object with --json), a documented exit
// code, a stack trace only with --debug. Commands stay thin: parse flags, call the core, return
// a result object (Salesforce plugin habit).
import { Command, Flags, Errors } from '@oclif/core';
import { ERROR_CODES, isFcastError } from '../errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

export abstract class FcastCommand<T> extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    debug: Flags.boolean({ description: 'Print stack traces and debug detail on errors.', helpGroup: 'GLOBAL' }),
  };

  abstract override run(): Promise<T>;

  /**
   * True when progress output should be drawn (a TTY, and not --json).
   * Progress through listr2 only on a terminal it can draw on: listr2 writes to stdout, so stdout
   * must be the TTY (`fcast receive ... > log` gets plain lines), with a width (a pty of 0 columns,
   * as `script` gives without a terminal, wrapped every character onto a line of its own).
   */
  protected interactive(): boolean {
    return process.stdout.isTTY === true && (process.stdout.columns ?? 0) > 0 && !this.jsonEnabled();
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    // oclif's own exits (--help, --version, this.exit) pass through untouched.
    if (err instanceof Errors.ExitError) throw err;
    const debug = process.argv.includes('--debug');
    let exit: number;
    let code: string;
    if (isFcastError(err)) {
      exit = exitCodeFor(err);
      code = err.code;
    } else if (err.oclif?.exit !== undefined || /flag|argument|Unexpected|Missing|Expected/i.test(err.message)) {
      // Flag and argument parse errors from oclif.
      exit = EXIT.USAGE;
      code = 'USAGE';
    } else {
      exit = exitCodeFor(err);
      code = exit === EXIT.IO ? ((err as NodeJS.ErrnoException).code ?? 'IO') : 'INTERNAL';
    }
    const message = oneLine(err.message) || String(err);
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify({ status: exit, error: { code, message } }, null, 2)}\n`);
    } else {
      process.stderr.write(`fcast: ${message}${code in ERROR_CODES || code === 'INTERNAL' ? ` [${code}]` : ''}\n`);
    }
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return this.exit(exit);
  }
}

/**
 * oclif's flag errors span several lines ("The following errors occurred:", one line per
 * problem, "See more help with --help"): keep the problems, joined, so one line says it all.
 */
function oneLine(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim())
    .filter((l) => l !== '' && !/^The following errors? occurred:?$/i.test(l) && !/^See more help with/i.test(l));
  return lines.join('; ');
}

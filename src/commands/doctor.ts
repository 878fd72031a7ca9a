// `fcast doctor [SESSION]`: check what fcast needs on this machine and say in one line what works
// and why not. The checks live in src/cli/doctor.ts (one list, one place to add a check).
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { Args, Flags } from '@oclif/core';
import { FcastCommand } from '../cli/base.js';
import { EXIT } from '../cli/exit-codes.js';
import { flowFromSession, runDoctor, type DoctorReport, type FlowTarget } from '../cli/doctor.js';
import { FcastError, LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { MAX_SESSION_TEXT, parseSession } from '../wire/index.js';

export default class Doctor extends FcastCommand<DoctorReport> {
  static override summary = 'Check what fcast needs on this machine, and whether a session reaches it.';
  static override description =
    'Runs each check (native addon, interfaces, loopback multicast, IPv6 multicast, TTL, socket buffers, root) and, with SESSION (a session description file or GROUP:PORT), joins the session and counts the flow packets that arrive within --wait seconds. Prints one line per check and a summary of what works and why not. Exits 0 when every required check passes, 3 otherwise.';
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor nightly.sdp --iface eth0 --wait 10',
    '<%= config.bin %> doctor 239.1.2.3:4000 --json',
  ];
  static override args = {
    session: Args.string({ description: 'Session description file (SDP or JSON), or GROUP:PORT ([GROUP]:PORT for IPv6).', required: false }),
  };
  static override flags = {
    wait: Flags.integer({ char: 'w', description: 'Seconds to listen for flow packets of SESSION.', default: 5, min: 1, max: 3600 }),
    iface: Flags.string({ char: 'i', description: 'Interface (name or address) to join SESSION on; default: the kernel\'s choice.' }),
  };

  async run(): Promise<DoctorReport> {
    const { args, flags } = await this.parse(Doctor);
    const flow = args.session === undefined ? undefined : resolveTarget(args.session);
    const report = await runDoctor({ ...(flow === undefined ? {} : { flow }), waitMs: flags.wait * 1000, ...(flags.iface === undefined ? {} : { iface: flags.iface }) });
    if (!this.jsonEnabled()) {
      for (const c of report.checks) {
        const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn';
        this.log(`${mark} ${c.check.padEnd(19)} ${c.detail}`);
      }
      this.log(report.summary);
    }
    if (!report.ok) {
      if (!this.jsonEnabled()) process.stderr.write(`fcast: required checks failed: ${report.failed.join(', ')}\n`);
      process.exitCode = EXIT.INCOMPLETE;
    }
    return report;
  }
}

/** SESSION as a file (when one exists by that name) or GROUP:PORT. */
function resolveTarget(arg: string): FlowTarget {
  let isFile = false;
  try {
    isFile = statSync(arg).isFile();
  } catch {
    isFile = false;
  }
  if (isFile) {
    const size = statSync(arg).size;
    if (size > MAX_SESSION_TEXT) throw new RemoteProtocolError('SESSION_PARSE', `${arg} is ${size} bytes (a description is at most ${MAX_SESSION_TEXT})`);
    let text: string;
    try {
      text = readFileSync(arg, 'utf8');
    } catch (e) {
      throw new FcastError('INPUT_FILE', 'io', `${arg}: ${(e as Error).message}`);
    }
    return flowFromSession(parseSession(text));
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(arg);
  const group = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (group === undefined || !(port >= 1 && port <= 65535)) {
    throw new LocalProtocolError('USAGE', `SESSION must be a session file or GROUP:PORT, not "${arg}"`);
  }
  const v = isIP(group);
  const multicast = v === 4 ? Number(group.split('.')[0]) >= 224 && Number(group.split('.')[0]) <= 239 : v === 6 && /^ff/i.test(group);
  if (!multicast) throw new LocalProtocolError('USAGE', `${group} is not a multicast group address`);
  return { family: v === 6 ? 'IP6' : 'IP4', channels: [{ group, port }] };
}

// `fcast doctor [SESSION]`: check what fcast needs on this machine and say in one line what works
// and why not. The checks live in src/cli/doctor.ts (one list, one place to add a check).
import { isIP } from 'node:net';
import { Args, Flags } from '@oclif/core';
import { FcastCommand } from '../cli/base.js';
import { EXIT } from '../cli/exit-codes.js';
import { runDoctor, type DoctorReport, type FlowTarget } from '../cli/doctor.js';
import { resolveTarget } from '../cli/receive-target.js';
import { LocalProtocolError } from '../errors.js';
import { readIdentityFile } from '../net/quic-identity.js';

export default class Doctor extends FcastCommand<DoctorReport> {
  static override summary = 'Check what fcast needs on this machine, and whether a session reaches it.';
  static override description =
    'Runs each check (native addon, interfaces, multicast route, loopback multicast, IPv6 multicast, TTL, socket buffers, root) and, with SESSION (a session description file or URL, an fcast:// flexicast URL, or GROUP:PORT), joins the session and counts the flow packets that arrive within --wait seconds; for a session naming a flexicast endpoint it first checks that the endpoint answers QUIC with the pinned sender key and, when the sender admits --key (or any key), listens on the flow channels its ANNOUNCE names. Prints one line per check and a summary of what works and why not. Exits 0 when every required check passes, 3 otherwise.';
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor nightly.sdp --iface eth0 --wait 10',
    '<%= config.bin %> doctor 239.1.2.3:4000 --json',
  ];
  static override args = {
    session: Args.string({ description: 'Session description file (SDP or JSON), http(s) URL to one, or GROUP:PORT ([GROUP]:PORT for IPv6).', required: false }),
  };
  static override flags = {
    wait: Flags.integer({ char: 'w', description: 'Seconds to listen for flow packets of SESSION.', default: 5, min: 1, max: 3600 }),
    iface: Flags.string({ char: 'i', description: 'Interface (name or address) to join SESSION on; default: the kernel\'s choice.' }),
    source: Flags.string({ description: 'Sender address: join SESSION source-specific (SSM).' }),
    key: Flags.string({ description: 'Flexicast: this receiver\'s identity (`fcast keygen` private key file), so an admitting sender names its flow channels and they are checked too.' }),
  };

  async run(): Promise<DoctorReport> {
    const { args, flags } = await this.parse(Doctor);
    const flow = args.session === undefined ? undefined : await flowTarget(args.session, flags.source);
    const report = await runDoctor({
      ...(flow === undefined ? {} : { flow }), waitMs: flags.wait * 1000, ...(flags.iface === undefined ? {} : { iface: flags.iface }),
      ...(flags.key === undefined ? {} : { identity: readIdentityFile(flags.key) }), learned: {},
    });
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

/** Where to listen: SESSION resolved as `fcast receive` resolves it (file, URL or GROUP:PORT). */
async function flowTarget(session: string, source: string | undefined): Promise<FlowTarget> {
  const t = await resolveTarget(session, source);
  const first = t.channels[0];
  // An fcast:// URL names only the flexicast endpoint: its QUIC reachability is what can be checked.
  if (first === undefined && t.flexicast === undefined) throw new LocalProtocolError('USAGE', `${session}: no channels`);
  return {
    family: isIP(first?.group ?? t.flexicast!.host) === 6 ? 'IP6' : 'IP4',
    channels: t.channels,
    ...(t.source === undefined ? {} : { source: t.source }),
    ...(t.tsi === undefined ? {} : { tsi: t.tsi }),
    // A description means an fcast session: its CCI is WEBRC's short form (RFC 3738 §5), 4 bytes.
    // A bare GROUP:PORT may be any ALC sender, so any CCI length is accepted.
    ...(t.from === 'address' ? {} : { cciLength: 4 }),
    ...(t.flexicast === undefined ? {} : { flexicast: { host: t.flexicast.host, port: t.flexicast.port, senderKey: t.flexicast.senderKey } }),
  };
}

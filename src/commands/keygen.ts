// `fcast keygen`: an Ed25519 identity for a sender or receiver (flexicast admission, pinning).
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { FcastCommand } from '../cli/base.js';
import { FcastError, LocalProtocolError } from '../errors.js';

export interface KeygenResult {
  readonly privateKeyFile: string;
  readonly publicKeyFile: string;
  /** Raw 32-byte Ed25519 public key, base64url: what session descriptions and allow-lists carry. */
  readonly publicKey: string;
}

export default class Keygen extends FcastCommand<KeygenResult> {
  static override summary = 'Create an Ed25519 identity key pair for a sender or receiver.';
  static override description =
    'Writes the private key (PKCS#8 PEM, mode 0600) and the public key (SPKI PEM). The public key is also printed as 32 raw bytes in base64url, the form session descriptions and allow-lists use.';
  static override examples = [
    '<%= config.bin %> keygen --out /etc/fcast/sender.key',
    '<%= config.bin %> keygen --out ./receiver.key --json',
  ];
  static override flags = {
    out: Flags.string({ char: 'o', description: 'Private key file; the public key goes to FILE.pub.', default: 'fcast.key' }),
    force: Flags.boolean({ description: 'Overwrite existing key files.' }),
  };

  async run(): Promise<KeygenResult> {
    const { flags } = await this.parse(Keygen);
    const privateKeyFile = resolve(flags.out);
    const publicKeyFile = `${privateKeyFile}.pub`;
    for (const f of [privateKeyFile, publicKeyFile]) {
      if (existsSync(f) && !flags.force) throw new LocalProtocolError('OUTPUT_PATH', `${f} exists (use --force to overwrite)`);
    }
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pubPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const privPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const raw = createPublicKey(pubPem).export({ format: 'jwk' }).x;
    if (typeof raw !== 'string') throw new FcastError('INTERNAL', 'internal', 'no raw public key');
    mkdirSync(dirname(privateKeyFile), { recursive: true });
    writeFileSync(privateKeyFile, privPem, { mode: 0o600 });
    writeFileSync(publicKeyFile, pubPem, { mode: 0o644 });
    if (!this.jsonEnabled()) {
      this.log(`private key: ${privateKeyFile}`);
      this.log(`public key:  ${publicKeyFile}`);
      this.log(`ed25519:${raw}`);
    }
    return { privateKeyFile, publicKeyFile, publicKey: raw };
  }
}

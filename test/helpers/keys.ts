import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KeyFile {
  /** PKCS#8 PEM of the private key, mode 600 (what `fcast keygen` writes). */
  readonly file: string;
  /** The public key as flexicast names it (`?key=`, allow-lists): base64url of the raw 32 bytes. */
  readonly pub: string;
}

/** A fresh Ed25519 identity written to DIR/NAME.key. */
export function writeKey(dir: string, name: string): KeyFile {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const file = join(dir, `${name}.key`);
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return { file, pub: (publicKey.export({ format: 'jwk' }) as { x: string }).x };
}

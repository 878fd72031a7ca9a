// Ed25519 identities on QUIC. `fcast keygen` writes PKCS#8 PEM; libp2p-quic wants the libp2p
// PrivateKey protobuf and builds a self-signed TLS 1.3 certificate from it (libp2p TLS spec:
// github.com/libp2p/specs tls/tls.md); the peer's key then shows up as its peer id. We convert
// both ways here so the rest of fcast only ever sees raw 32-byte public keys (base64url in
// session descriptions and allow-lists, field `senderKey`).
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FcastError, LocalProtocolError, RemoteProtocolError } from '../errors.js';

export interface QuicIdentity {
  /** Raw Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** libp2p PrivateKey protobuf: field 1 KeyType = 1 (Ed25519), field 2 Data = seed || public key. */
  readonly privateKeyProto: Uint8Array;
}

/** Identity from a PKCS#8 PEM Ed25519 private key (what `fcast keygen` writes). */
export function identityFromPem(pem: string): QuicIdentity {
  let jwk: { crv?: string; d?: string; x?: string };
  try {
    jwk = createPrivateKey(pem).export({ format: 'jwk' }) as typeof jwk;
  } catch (e) {
    throw new LocalProtocolError('CONFIG', `not a private key PEM: ${(e as Error).message}`);
  }
  if (jwk.crv !== 'Ed25519' || jwk.d === undefined || jwk.x === undefined) throw new LocalProtocolError('CONFIG', 'the key is not Ed25519');
  const seed = Buffer.from(jwk.d, 'base64url');
  const publicKey = new Uint8Array(Buffer.from(jwk.x, 'base64url'));
  const privateKeyProto = new Uint8Array(4 + 64);
  privateKeyProto.set([0x08, 0x01, 0x12, 0x40]);
  privateKeyProto.set(seed, 4);
  privateKeyProto.set(publicKey, 36);
  return { publicKey, privateKeyProto };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new FcastError('INPUT_FILE', 'io', `${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Identity from a private key file written by `fcast keygen`. */
export function readIdentityFile(path: string): QuicIdentity {
  return identityFromPem(readText(path));
}

/** Raw public key from an SPKI PEM file (`fcast keygen`'s FILE.pub) or a file holding its base64url text. */
export function readPublicKeyFile(path: string): Uint8Array {
  const text = readText(path).trim();
  if (!text.startsWith('-----BEGIN')) return publicKeyFromText(text);
  let x: string | undefined;
  try {
    const jwk = createPublicKey(text).export({ format: 'jwk' }) as { crv?: string; x?: string };
    x = jwk.crv === 'Ed25519' ? jwk.x : undefined;
  } catch (e) {
    throw new LocalProtocolError('CONFIG', `${path}: not a public key PEM: ${(e as Error).message}`);
  }
  if (x === undefined) throw new LocalProtocolError('CONFIG', `${path}: not an Ed25519 public key`);
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

/** Raw public key from base64url text (session `senderKey`, allow-lists); also accepts `ed25519:` prefix. */
export function publicKeyFromText(text: string): Uint8Array {
  const b64 = text.startsWith('ed25519:') ? text.slice(8) : text;
  const raw = Buffer.from(b64, 'base64url');
  if (raw.length !== 32 || raw.toString('base64url') !== b64) throw new LocalProtocolError('CONFIG', `not a base64url Ed25519 public key: ${text}`);
  // Reject bytes that are not a point on the curve, so a typo fails here and not at connect time.
  try {
    createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64 }, format: 'jwk' });
  } catch {
    throw new LocalProtocolError('CONFIG', `not an Ed25519 public key: ${text}`);
  }
  return new Uint8Array(raw);
}

export function publicKeyText(key: Uint8Array): string {
  return Buffer.from(key).toString('base64url');
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58Decode(s: string): Uint8Array | undefined {
  if (s.length === 0 || s.length > 64) return undefined;
  let zeros = 0;
  while (s[zeros] === '1') zeros++;
  const le: number[] = []; // base-256 digits, least significant first
  for (const ch of s) {
    let carry = B58.indexOf(ch);
    if (carry < 0) return undefined;
    for (let i = 0; i < le.length; i++) {
      carry += le[i]! * 58;
      le[i] = carry & 0xff;
      carry >>= 8;
    }
    for (; carry > 0; carry >>= 8) le.push(carry & 0xff);
  }
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...le.reverse()]);
}

// Identity multihash (0x00, length 36) of the protobuf PublicKey { Type: Ed25519, Data: 32 bytes }.
const PEER_ID_PREFIX = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

/** Raw Ed25519 key of the peer named in a libp2p-quic remote multiaddr (`.../p2p/<peer id>`). */
export function publicKeyFromMultiaddr(multiaddr: string): Uint8Array {
  const at = multiaddr.lastIndexOf('/p2p/');
  const bytes = at < 0 ? undefined : base58Decode(multiaddr.slice(at + 5));
  if (bytes === undefined || bytes.length !== 38 || PEER_ID_PREFIX.some((b, i) => bytes[i] !== b)) {
    throw new RemoteProtocolError('FLEX_PEER_KEY', `peer is not an Ed25519 identity: ${multiaddr}`);
  }
  return bytes.subarray(6);
}

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { SignJWT } from 'jose';

/** The plugins a license may unlock. */
export const PLUGINS = ['ticketing', 'sla', 'audit'] as const;
export type Plugin = (typeof PLUGINS)[number];

/** The only signature algorithms accepted: Ed25519, under its JOSE name and its fully specified one. */
export const LICENSE_ALGORITHMS = ['EdDSA', 'Ed25519'] as const;

export interface LicensePublicKey {
  /** The name given in the configuration (`kid: <name>` above the PEM block), if any. */
  name: string | null;
  /** RFC 7638 JWK thumbprint (base64url SHA-256): a kid that needs no naming. */
  thumbprint: string;
  key: KeyObject;
}

export class LicenseKeyConfigError extends Error {}

const PEM_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g;

/** RFC 7638: the SHA-256 of the required JWK members in lexicographic order. */
export function thumbprint(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as { crv: string; kty: string; x: string };
  return createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })).digest('base64url');
}

/**
 * `LICENSE_PUBLIC_KEY`: one or more SPKI PEM blocks, given inline (literal `\n` allowed, for
 * one-line environment values) or as comma-separated paths of PEM files. A block may be named by a
 * line `kid: <name>` above it; a license whose header names a `kid` is verified by the key of that
 * name or thumbprint only, one without `kid` by any configured key.
 *
 * `source` names the value in error messages; `files: false` takes PEM text only (a value given
 * over the API must never make the server read a file). A private key is refused outright, never
 * echoed.
 */
export function parsePublicKeys(value: string | undefined, options: { source?: string; files?: boolean } = {}): LicensePublicKey[] {
  const source = options.source ?? 'LICENSE_PUBLIC_KEY';
  if (!value?.trim()) return [];
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) {
    throw new LicenseKeyConfigError(`${source}: this is a private key; give the public key (license-public.pem) and keep the private one secret`);
  }
  if (!value.includes('-----BEGIN') && options.files === false) throw new LicenseKeyConfigError(`${source}: no "-----BEGIN PUBLIC KEY-----" block found`);
  const text = value.includes('-----BEGIN')
    ? value.replace(/\\n/g, '\n')
    : value
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .map((p) => {
          if (!existsSync(p)) throw new LicenseKeyConfigError(`${source}: no PEM text and no file at ${p}`);
          return readFileSync(p, 'utf8');
        })
        .join('\n');
  const keys: LicensePublicKey[] = [];
  let last = 0;
  for (const match of text.matchAll(PEM_BLOCK)) {
    const preamble = text.slice(last, match.index);
    last = match.index + match[0].length;
    const name = [...preamble.matchAll(/^\s*#?\s*kid\s*[:=]\s*(\S+)\s*$/gm)].at(-1)?.[1] ?? null;
    let key: KeyObject;
    try {
      key = createPublicKey(match[0]);
    } catch (err) {
      throw new LicenseKeyConfigError(`${source}: key ${keys.length + 1} is not a valid PEM public key (${(err as Error).message})`);
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new LicenseKeyConfigError(`${source}: key ${keys.length + 1} is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
    }
    keys.push({ name, thumbprint: thumbprint(key), key });
  }
  if (!keys.length) throw new LicenseKeyConfigError(`${source}: no "-----BEGIN PUBLIC KEY-----" block found`);
  const names = keys.flatMap((k) => (k.name ? [k.name] : []));
  if (new Set(names).size !== names.length) throw new LicenseKeyConfigError(`${source}: two keys share one kid name`);
  return keys;
}

/** Keys as PEM text `parsePublicKeys` reads back: each SPKI block under its `kid:` line, if named. */
export function formatPublicKeys(keys: readonly LicensePublicKey[]): string {
  return keys.map((k) => `${k.name ? `kid: ${k.name}\n` : ''}${k.key.export({ type: 'spki', format: 'pem' }).toString()}`).join('');
}

/** A new Ed25519 key pair as PEM (SPKI public, PKCS#8 private). */
export function generateLicenseKeyPair(): { publicKeyPem: string; privateKeyPem: string; thumbprint: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    thumbprint: thumbprint(publicKey),
  };
}

export interface IssueLicenseInput {
  privateKeyPem: string;
  customer: string;
  plugins: readonly string[];
  issuedAt: Date;
  expiresAt: Date;
  notBefore?: Date;
  maxServices?: number;
  /** The header's kid; the key's thumbprint when not given. */
  kid?: string;
}

/** Signs a license key (compact JWS, EdDSA). */
export async function issueLicense(input: IssueLicenseInput): Promise<string> {
  const privateKey = createPrivateKey(input.privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the signing key is ${privateKey.asymmetricKeyType}, not Ed25519`);
  const kid = input.kid ?? thumbprint(createPublicKey(privateKey));
  const sec = (d: Date) => Math.floor(d.getTime() / 1000);
  const jwt = new SignJWT({
    customer: input.customer,
    plugins: [...input.plugins],
    ...(input.maxServices !== undefined ? { maxServices: input.maxServices } : {}),
  })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
    .setIssuedAt(sec(input.issuedAt))
    .setExpirationTime(sec(input.expiresAt));
  if (input.notBefore) jwt.setNotBefore(sec(input.notBefore));
  return jwt.sign(privateKey);
}

/**
 * Secret redaction for anything written where many people read it (the audit log). Pure.
 *
 * By key name: a property whose name contains one of the words below (case, `_` and `-` ignored:
 * `password`, `passwordHash`, `secret_hash`, `refreshToken`, `tokenHash`, `licenseKey`, ...) has its
 * value replaced, whatever the value's type. A null or absent value stays as it is: "no password
 * given" is not a secret, and `"[REDACTED]"` then reads as "a password was set".
 *
 * By value, as a second net for secrets stored under an unexpected name: Opsgraph API keys
 * (`opk_...`), compact JWS/JWT (license keys, access tokens), scrypt password hashes and PEM
 * private keys.
 */
export const REDACTED = '[REDACTED]';

const SECRET_KEY_WORDS = ['password', 'passwd', 'secret', 'token', 'licensekey', 'privatekey', 'authorization', 'credential', 'apikeysecret'];

const SECRET_VALUES: readonly RegExp[] = [
  /^opk_[A-Za-z0-9_-]+$/,
  /^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$/,
  /^scrypt\$/,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];

export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[_-]/g, '');
  return SECRET_KEY_WORDS.some((w) => k.includes(w));
}

export function isSecretValue(value: string): boolean {
  return SECRET_VALUES.some((re) => re.test(value.trim()));
}

/**
 * A deep copy of `value` as JSON would carry it (dates become ISO strings, undefined properties
 * disappear), with secrets replaced by `[REDACTED]`.
 */
export function redactSecrets(value: unknown): unknown {
  if (value === undefined) return null;
  return walk(JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as unknown);
}

function walk(value: unknown): unknown {
  if (typeof value === 'string') return isSecretValue(value) ? REDACTED : value;
  if (Array.isArray(value)) return value.map(walk);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) && v !== null ? REDACTED : walk(v);
    return out;
  }
  return value;
}

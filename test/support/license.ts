import { generateLicenseKeyPair, issueLicense, type IssueLicenseInput } from '../../src/lib/license-keys.js';
import type { TestApp } from './harness.js';

/**
 * The license signing pair of this test process: every test app verifies with its public key
 * (the harness sets LICENSE_PUBLIC_KEY), and tests issue keys with its private key.
 */
export const TEST_LICENSE_KEYS = generateLicenseKeyPair();

const DAY_MS = 86_400_000;

export interface TestLicense {
  customer?: string;
  plugins?: string[];
  /** Issue time; the app's (fake) clock now, so the key is valid at the time the test says it is. */
  now?: Date;
  days?: number;
  maxServices?: number;
  kid?: string;
  privateKeyPem?: string;
  notBefore?: Date;
}

/** A license key signed with the test pair (or `privateKeyPem`). */
export function testLicenseKey(o: TestLicense = {}): Promise<string> {
  const now = o.now ?? new Date();
  const input: IssueLicenseInput = {
    privateKeyPem: o.privateKeyPem ?? TEST_LICENSE_KEYS.privateKeyPem,
    customer: o.customer ?? 'Test Customer',
    plugins: o.plugins ?? ['ticketing', 'sla', 'audit'],
    issuedAt: now,
    expiresAt: new Date(now.getTime() + (o.days ?? 365) * DAY_MS),
    maxServices: o.maxServices,
    kid: o.kid,
    notBefore: o.notBefore,
  };
  return issueLicense(input);
}

export async function postActivate(api: TestApp, body: unknown) {
  const res = await fetch(`${api.url}/api/v1/license/activate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

/** Activates a license on `api` through the REST endpoint (all plugins, a year, by default). */
export async function activateTestLicense(api: TestApp, o: TestLicense = {}): Promise<string> {
  const licenseKey = await testLicenseKey(o);
  const res = await postActivate(api, { licenseKey });
  if (res.status !== 200) throw new Error(`license activation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return licenseKey;
}

import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Database } from '../infra/prisma.js';

const SETTING = 'jwt_secret';

/**
 * The JWT signing secret: `JWT_SECRET` when set (required in production);
 * otherwise one generated at the first start and kept in the database, so every
 * instance and every restart signs and verifies with the same secret.
 */
export async function resolveJwtSecret(config: Pick<Config, 'JWT_SECRET'>, db: Database): Promise<string> {
  if (config.JWT_SECRET) return config.JWT_SECRET;
  await db.setting.createMany({ data: [{ key: SETTING, value: randomBytes(48).toString('base64url') }], skipDuplicates: true });
  const row = await db.setting.findUniqueOrThrow({ where: { key: SETTING } });
  return row.value;
}

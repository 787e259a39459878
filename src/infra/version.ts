import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The repository root from src/infra (sources) or dist/src/infra (the build), as migrations.ts finds prisma/.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const packageJson = path.basename(root) === 'dist' ? path.resolve(root, '../package.json') : path.join(root, 'package.json');

/** The server's version, from its package.json: what `GET /api/v1/health` reports. */
export const SERVER_VERSION: string = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;

import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../src/infra/clock.js';
import { createLogger } from '../src/infra/logger.js';
import { createRollups } from '../src/modules/sla/sla.rollups.js';
import { createSlaEngine } from '../src/modules/sla/sla.engine.js';
import { createDatabase } from '../src/infra/prisma.js';
const url = `postgresql://postgres@127.0.0.1:5432/opsgraph_prof`;
const db = createDatabase({ DATABASE_URL: url, DATABASE_POOL_MAX: 5, DATABASE_STATEMENT_TIMEOUT_MS: 0, DEPENDENCY_TIMEOUT_MS: 5000 } as any, createLogger({ LOG_LEVEL: 'warn' }) as any);
const pool = db.pool;
await pool.query(`UPDATE "Service" SET "lastSeenAt" = now()`);
const rollups = createRollups({ pool, clock: systemClock, logger: createLogger({ LOG_LEVEL: 'warn' } as any), staleMs: 90_000 });
await rollups.materialize();
const engine = createSlaEngine({ db: db.prisma, pool, clock: systemClock, staleMs: 90_000 });
const groups = await db.prisma.slaGroup.findMany({ include: { services: { select: { id: true, lastSeenAt: true } } } });
const gs = groups.map((g: any) => ({ id: g.id, targetUptime: 99.9, services: g.services }));
const origQuery = pool.query.bind(pool);
let sqlMs = 0;
(pool as any).query = async (...a: any[]) => { const t0 = performance.now(); try { return await (origQuery as any)(...a); } finally { const d = performance.now() - t0; sqlMs += d; const q = typeof a[0] === 'string' ? a[0] : (a[0].name ?? a[0].text); console.log('   ', Math.round(d), String(q).replace(/\s+/g, ' ').slice(0, 70)); } };
for (let i = 0; i < 3; i++) {
  sqlMs = 0; let t = performance.now(); await engine.groupNumbers(gs); console.log('groupNumbers', Math.round(performance.now() - t), 'sql(sum of parallel)', Math.round(sqlMs));
  sqlMs = 0; t = performance.now(); await engine.dashboardStats(); console.log('dashboard', Math.round(performance.now() - t), 'sql', Math.round(sqlMs));
  sqlMs = 0; t = performance.now(); await engine.trendData({ periodType: 'DAILY', monthsBack: 3 }); console.log('trend', Math.round(performance.now() - t), 'sql', Math.round(sqlMs));
}
await db.close();

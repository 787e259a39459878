import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { actorOf } from '../../auth/actor.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { PageInput } from '../../graphql/pagination.js';
import type { Page } from '../../lib/pagination.js';
import { isMutating } from './runbooks.definitions.js';
import type { RunStatus } from './runbooks.events.js';
import type { HealthBlock } from './runbooks.health.js';
import type { RunbooksService, RunRecord } from './runbooks.service.js';
import {
  ExecuteRunbookInput,
  OpsStatusType,
  RunbookExecutionType,
  RunbookRunFilter,
  RunbookRunPage,
  RunbookRunType,
  RunbookType,
  type RunbookHealthType,
} from './runbooks.types.js';

const healthOf = (h: HealthBlock | null): RunbookHealthType | null =>
  h && {
    coverageRatio: h.coverage_ratio,
    expectedTotal: h.expected_total,
    activeTotal: h.active_total,
    matchedTotal: h.matched_total,
    ignoredTotal: h.ignored_total,
    generatedAt: new Date(h.generated_at),
    checks: h.checks.map((c) => ({ name: c.name, status: c.status, latencyMs: c.latency_ms, detail: c.detail })),
  };

const runOf = (r: RunRecord): RunbookRunType => ({
  id: r.id,
  requestId: r.requestId,
  command: r.command,
  status: r.status,
  exitCode: r.exitCode,
  dryRun: r.dryRun,
  detail: r.detail,
  ...r.fields,
  requestedBy: r.actor,
  createdAt: r.createdAt,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
  durationMs: r.durationMs,
  logs: r.logs.map((l) => ({ level: l.level, message: l.message, step: l.step ?? null, at: new Date(l.at) })),
  health: healthOf(r.health),
});

/** The ops console over GraphQL: the same service as /api/ops, in GraphQL's camelCase. */
@Resolver()
export class RunbooksResolver {
  private readonly service: RunbooksService;

  constructor(services: { runbooks: RunbooksService }) {
    this.service = services.runbooks;
  }

  @Authorized('VIEWER')
  @Query(() => OpsStatusType, { description: 'The ops console state, the last runs and health results (GET /api/ops/status).' })
  async opsStatus(): Promise<OpsStatusType> {
    const s = await this.service.status();
    return {
      environmentMode: s.environmentMode,
      activeProfile: s.activeProfile,
      activeWindow: s.activeWindow,
      lastRunbook: s.lastRunbook && runOf(s.lastRunbook),
      runbookHistory: s.history.map(runOf),
      healthByRequest: s.healthByRequest.map((h) => ({ requestId: h.requestId, health: healthOf(h.health)! })),
      lastHealth: healthOf(s.lastHealth),
      lastExitCodes: Object.entries(s.lastExitCodes).map(([command, exitCode]) => ({ command, exitCode })),
      lastUpdatedAt: s.lastUpdatedAt,
    };
  }

  @Authorized('VIEWER')
  @Query(() => [RunbookType], { description: 'The runbooks in use (RUNBOOKS_FILE as last read, and the built-in health_check).' })
  runbooks(): RunbookType[] {
    return this.service.definitions().map((d) => ({
      command: d.command,
      description: d.description,
      timeoutSeconds: d.timeoutSeconds,
      requiresEnforce: d.requiresEnforce,
      mutating: isMutating(d.command),
      builtIn: d.builtIn,
      steps: d.steps.map((s) => ({ name: s.name, run: s.argv, timeoutSeconds: s.timeoutSeconds, continueOnError: s.continueOnError })),
    }));
  }

  @Authorized('VIEWER')
  @Query(() => RunbookRunPage, { description: 'Runs, newest first by default (sort: createdAt, finishedAt, command, status); logs are left out.' })
  async runbookRuns(
    @Arg('filter', () => RunbookRunFilter, { nullable: true }) filter?: RunbookRunFilter,
    @Arg('page', () => PageInput, { nullable: true }) page?: PageInput,
  ): Promise<Page<RunbookRunType>> {
    const found = await this.service.runs({ ...filter, status: filter?.status as RunStatus | null | undefined }, page);
    return { items: found.items.map((r) => ({ ...runOf(r), logs: [] })), pageInfo: found.pageInfo };
  }

  @Authorized('VIEWER')
  @Query(() => RunbookRunType, { description: 'One run, with its logs, by its request id.' })
  async runbookRun(@Arg('requestId') requestId: string): Promise<RunbookRunType> {
    return runOf(await this.service.run(requestId));
  }

  @Authorized('OPERATOR')
  @Mutation(() => RunbookExecutionType, {
    description: 'Runs a runbook and answers when it has ended (POST /api/ops/runbooks/execute). A timed-out or unrunnable run is answered with status timeout or error and its detail.',
  })
  async executeRunbook(@Arg('input') input: ExecuteRunbookInput, @Ctx() ctx: GraphQLContext): Promise<RunbookExecutionType> {
    const run = await this.service.execute(input, actorOf(ctx));
    const view = runOf(run);
    return { runbook: view, health: view.health };
  }
}

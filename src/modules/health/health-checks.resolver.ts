import { Arg, Authorized, Ctx, Float, Mutation, Query, Resolver } from 'type-graphql';
import { actorOf } from '../../auth/actor.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { PageInput } from '../../graphql/pagination.js';
import { parseInput } from '../../http/validate.js';
import type { HealthSystem } from '../../lib/health.js';
import type { Page } from '../../lib/pagination.js';
import { healthRunRequest, type HealthCheckRecord, type HealthChecks, type HealthRun, type HealthSummary } from './health.checks.js';
import { healthConfigPatch, type HealthConfig, type HealthSettings } from './health.config.js';
import {
  HealthCheckRunType,
  HealthConfigType,
  HealthHistoryFilter,
  HealthHistoryPage,
  HealthSummaryType,
  HealthSystemEnum,
  UpdateHealthConfigInput,
} from './health-checks.types.js';

/** Input objects as plain data, without the fields left out or given as null. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

@Resolver()
export class HealthChecksResolver {
  private readonly checks: HealthChecks;
  private readonly settings: HealthSettings;

  constructor(services: { checks: HealthChecks; settings: HealthSettings }) {
    this.checks = services.checks;
    this.settings = services.settings;
  }

  @Authorized('VIEWER')
  @Query(() => HealthSummaryType, { description: 'The latest stored result of each enabled health check system.' })
  healthStatus(): Promise<HealthSummary> {
    return this.checks.status();
  }

  @Authorized('VIEWER')
  @Query(() => HealthHistoryPage, { description: 'Stored health check results, newest first by default.' })
  healthHistory(
    @Arg('filter', () => HealthHistoryFilter, { nullable: true }) filter?: HealthHistoryFilter,
    @Arg('page', () => PageInput, { nullable: true }) page?: PageInput,
  ): Promise<Page<HealthCheckRecord>> {
    return this.checks.history(filter ?? {}, page);
  }

  @Authorized('VIEWER')
  @Query(() => HealthConfigType, { description: "The health checks' settings in force." })
  healthConfig(): Promise<HealthConfig> {
    return this.settings.get();
  }

  @Authorized('OPERATOR')
  @Mutation(() => HealthCheckRunType, { description: 'Runs the systems given (the enabled ones when none) now and stores the results.' })
  runHealthCheck(
    @Arg('systems', () => [HealthSystemEnum], { nullable: true }) systems?: HealthSystem[],
    @Arg('timeout', () => Float, { nullable: true, description: "Seconds: caps every check's own timeout for this run (at most 60)." }) timeout?: number,
  ): Promise<HealthRun> {
    const input = parseInput(healthRunRequest, plain({ systems, timeout }), 'input');
    return this.checks.runHealthCheck(input.systems, input.timeout);
  }

  @Authorized('ADMIN')
  @Mutation(() => HealthConfigType, { description: 'Changes the health check settings; in force at the next run, on every instance.' })
  async updateHealthConfig(@Arg('input', () => UpdateHealthConfigInput) input: UpdateHealthConfigInput, @Ctx() ctx: GraphQLContext): Promise<HealthConfig> {
    const patch = parseInput(healthConfigPatch, plain(input), 'input');
    return (await this.settings.update(patch, actorOf(ctx))).after;
  }
}

import { Arg, Authorized, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { actorOf } from '../../auth/actor.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { parseInput } from '../../http/validate.js';
import { AppError } from '../../lib/errors.js';
import type { MetricsServices } from './metrics.module.js';
import { eventBody, seriesParams, toEvent, toSeriesQuery } from './metrics.params.js';
import { snapshotOf } from './metrics.routes.js';
import { MAX_SAMPLES_PER_REQUEST, parseSampleBodies } from './metrics.samples.js';
import {
  LabelInput,
  MetricCollectorType,
  MetricDefinitionType,
  MetricEventType,
  MetricSampleInput,
  MetricSeriesType,
  MetricsSnapshotType,
  MetricsStatsType,
  RecordEventInput,
  RecordMetricsPayload,
  UpdateCollectorInput,
} from './metrics.types.js';
import type { Config } from '../../config.js';
import type { Clock } from '../../infra/clock.js';

const labelsOf = (labels: readonly LabelInput[] | undefined | null) => Object.fromEntries((labels ?? []).map((l) => [l.key, l.value]));

/** The same answers as the REST routes; input goes through the same parsing, so errors name the same fields. */
@Resolver()
export class MetricsResolver {
  private readonly store: MetricsServices;
  private readonly clock: Clock;
  private readonly config: Config;

  constructor(services: { metrics: MetricsServices }) {
    this.store = services.metrics;
    this.clock = services.metrics.clock;
    this.config = services.metrics.config;
  }

  @Authorized('VIEWER')
  @Query(() => [MetricDefinitionType], { description: 'Known metrics, optionally of one collector (`custom`: pushed) or type.' })
  metrics(@Arg('collector', () => String, { nullable: true }) collector?: string, @Arg('type', () => String, { nullable: true }) type?: string): Promise<MetricDefinitionType[]> {
    return this.store.query.definitions({ collector: collector ?? undefined, type: type ?? undefined });
  }

  @Authorized('VIEWER')
  @Query(() => MetricsSnapshotType, { description: 'The latest sample of every series.' })
  async metricsSnapshot(@Arg('collector', () => String, { nullable: true }) collector?: string): Promise<MetricsSnapshotType> {
    return snapshotOf(await this.store.query.latest({ collector: collector ?? undefined }), this.clock.now());
  }

  @Authorized('VIEWER')
  @Query(() => MetricSeriesType, { description: 'A metric over a range: start ISO or relative (-1h, -7d, -30m); granularity raw|1m|5m|1h|auto; aggregation avg|sum|min|max|count|p50|p95|p99.' })
  metricSeries(
    @Arg('name') name: string,
    @Arg('start') start: string,
    @Arg('end', () => String, { nullable: true }) end?: string,
    @Arg('granularity', () => String, { nullable: true }) granularity?: string,
    @Arg('aggregation', () => String, { nullable: true }) aggregation?: string,
    @Arg('labels', () => [LabelInput], { nullable: true }) labels?: LabelInput[],
    @Arg('limit', () => Int, { nullable: true }) limit?: number,
  ): Promise<MetricSeriesType> {
    const params = parseInput(
      seriesParams,
      Object.fromEntries(Object.entries({ start, end, granularity, aggregation, limit }).filter(([, v]) => v !== undefined && v !== null)),
      'arguments',
    );
    return this.store.query.series(toSeriesQuery(name, params, labelsOf(labels), this.clock.now()));
  }

  @Authorized('VIEWER')
  @Query(() => [MetricCollectorType])
  metricCollectors(): Promise<MetricCollectorType[]> {
    return this.store.collectors.list();
  }

  @Authorized('VIEWER')
  @Query(() => MetricsStatsType)
  async metricsStats(): Promise<MetricsStatsType> {
    return this.store.query.stats(await this.store.collectors.activeCount());
  }

  @Authorized('OPERATOR')
  @Mutation(() => RecordMetricsPayload, { description: `Pushes up to ${MAX_SAMPLES_PER_REQUEST} samples; one bad sample refuses them all.` })
  async recordMetrics(@Arg('samples', () => [MetricSampleInput]) samples: MetricSampleInput[]): Promise<RecordMetricsPayload> {
    const body = {
      samples: samples.map((s) => {
        const labels = labelsOf(s.labels);
        if (s.labels && Object.keys(labels).length !== s.labels.length) throw new AppError('BAD_USER_INPUT', 'a label key is given twice', { field: 'samples.labels' });
        return Object.fromEntries(
          Object.entries({ name: s.name, value: s.value, timestamp: s.timestamp?.toISOString(), tags: s.labels ? labels : undefined, type: s.type, unit: s.unit }).filter(([, v]) => v !== undefined && v !== null),
        );
      }),
    };
    return { accepted: (await this.store.push(parseSampleBodies(body.samples, 'samples'), (i) => `samples[${i}]`)).accepted };
  }

  @Authorized('ADMIN')
  @Mutation(() => MetricCollectorType, { description: 'Enables, disables or re-times a collector on every process, without a restart.' })
  async updateCollector(@Arg('name') name: string, @Arg('input') input: UpdateCollectorInput, @Ctx() ctx: GraphQLContext): Promise<MetricCollectorType> {
    await this.store.collectors.update(name, { enabled: input.enabled ?? undefined, interval: input.interval ?? undefined }, actorOf(ctx));
    return (await this.store.collectors.list()).find((c) => c.name === name)!;
  }

  @Authorized('OPERATOR')
  @Mutation(() => MetricEventType, { description: 'Records a business or API event; it also joins the event stream.' })
  recordEvent(@Arg('input') input: RecordEventInput): Promise<MetricEventType> {
    const body = parseInput(
      eventBody,
      Object.fromEntries(Object.entries({ type: input.type, data: input.data, timestamp: input.timestamp?.toISOString() }).filter(([, v]) => v !== undefined && v !== null)),
      'input',
    );
    return this.store.events.record(toEvent(body, this.clock.now(), this.config));
  }
}

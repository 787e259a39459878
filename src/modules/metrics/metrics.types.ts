import { ArrayMaxSize, IsOptional, Max, MaxLength, Min, MinLength } from 'class-validator';
import { GraphQLJSON } from 'graphql-scalars';
import { Field, Float, InputType, Int } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { MAX_LABELS, MAX_SAMPLES_PER_REQUEST } from './metrics.samples.js';

@OutputType('MetricDefinition', { description: 'A metric: what it measures and which collector produces it (`custom`: pushed).' })
export class MetricDefinitionType {
  @Field() name!: string;
  @Field({ description: 'gauge, counter, histogram or summary.' }) type!: string;
  @Field() collector!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => String, { nullable: true }) unit!: string | null;
}

@OutputType('MetricSample', { description: 'The latest sample of one series.' })
export class MetricSampleType {
  @Field() name!: string;
  @Field(() => Float) value!: number;
  @Field() timestamp!: Date;
  @Field(() => GraphQLJSON) labels!: Record<string, string>;
  @Field(() => GraphQLJSON, { description: 'The collector, type and unit of the metric.' }) metadata!: Record<string, unknown>;
}

@OutputType('MetricsSnapshot')
export class MetricsSnapshotType {
  @Field() timestamp!: Date;
  @Field(() => [MetricSampleType]) metrics!: MetricSampleType[];
}

@OutputType('MetricDataPoint', { description: 'A bucket (its start) and the aggregation of its samples.' })
export class MetricDataPointType {
  @Field() timestamp!: Date;
  @Field(() => Float, { nullable: true }) value!: number | null;
}

@OutputType('MetricSummary', { description: 'The whole range; percentiles from a rollup tier are within 1 % of the exact value.' })
export class MetricSummaryType {
  @Field(() => Float) count!: number;
  @Field(() => Float, { nullable: true }) avg!: number | null;
  @Field(() => Float, { nullable: true }) min!: number | null;
  @Field(() => Float, { nullable: true }) max!: number | null;
  @Field(() => Float, { nullable: true }) p50!: number | null;
  @Field(() => Float, { nullable: true }) p95!: number | null;
  @Field(() => Float, { nullable: true }) p99!: number | null;
}

@OutputType('MetricSeries')
export class MetricSeriesType {
  @Field() metric!: string;
  @Field() start!: Date;
  @Field() end!: Date;
  @Field({ description: 'The tier answered: raw, 1m, 5m or 1h.' }) granularity!: string;
  @Field() aggregation!: string;
  @Field(() => [MetricDataPointType]) dataPoints!: MetricDataPointType[];
  @Field(() => MetricSummaryType) summary!: MetricSummaryType;
}

@OutputType('MetricCollector')
export class MetricCollectorType {
  @Field() name!: string;
  @Field() enabled!: boolean;
  @Field(() => Int, { description: 'Seconds between collections.' }) interval!: number;
  @Field(() => Int) metricsCount!: number;
  @Field(() => Float) collectionCount!: number;
  @Field(() => Float) errorCount!: number;
  @Field(() => Date, { nullable: true }) lastCollection!: Date | null;
}

@OutputType('MetricsStorage', { description: 'Bytes on disk per tier (tables, indexes, TOAST) as PostgreSQL reports them.' })
export class MetricsStorageType {
  @Field(() => Float) raw!: number;
  @Field(() => Float) oneMinute!: number;
  @Field(() => Float) fiveMinute!: number;
  @Field(() => Float) oneHour!: number;
  @Field(() => Float) total!: number;
}

@OutputType('MetricsStats')
export class MetricsStatsType {
  @Field(() => Int) activeCollectors!: number;
  @Field(() => Int) totalMetrics!: number;
  @Field(() => Float, { description: "Raw samples stored (PostgreSQL's estimate)." }) totalDataPoints!: number;
  @Field(() => MetricsStorageType) storage!: MetricsStorageType;
  @Field(() => Float, { description: 'Samples per second over the last 5 minutes.' }) collectionRate!: number;
  @Field(() => Float, { description: 'Bytes per day, over the age of the oldest data.' }) storageGrowth!: number;
  @Field(() => Date, { nullable: true }) oldestData!: Date | null;
}

@OutputType('RecordMetricsPayload')
export class RecordMetricsPayload {
  @Field(() => Int) accepted!: number;
}

@OutputType('MetricEvent', { description: 'A recorded business or API event.' })
export class MetricEventType {
  @Field() id!: string;
  @Field() type!: string;
  @Field(() => GraphQLJSON) data!: Record<string, unknown>;
  @Field() timestamp!: Date;
}

@InputType('LabelInput')
export class LabelInput {
  @Field() @MinLength(1) @MaxLength(100) key!: string;
  @Field() @MaxLength(200) value!: string;
}

@InputType('MetricSampleInput', { description: 'A sample to push; `timestamp` defaults to now.' })
export class MetricSampleInput {
  @Field() name!: string;
  @Field(() => Float) value!: number;
  @Field(() => Date, { nullable: true }) timestamp?: Date;
  @Field(() => [LabelInput], { nullable: true }) @IsOptional() @ArrayMaxSize(MAX_LABELS) labels?: LabelInput[];
  @Field({ nullable: true, description: 'gauge (default), counter, histogram or summary.' }) type?: string;
  @Field({ nullable: true }) unit?: string;
}

@InputType('UpdateCollectorInput')
export class UpdateCollectorInput {
  @Field({ nullable: true }) enabled?: boolean;
  @Field(() => Int, { nullable: true, description: 'Seconds, 1 to 3600.' }) @IsOptional() @Min(1) @Max(3_600) interval?: number;
}

@InputType('RecordEventInput')
export class RecordEventInput {
  @Field({ description: 'api_request, websocket_connection, websocket_message, gateway_check, retrospective, violation, or your own.' }) type!: string;
  @Field(() => GraphQLJSON, { nullable: true }) data?: Record<string, unknown>;
  @Field(() => Date, { nullable: true }) timestamp?: Date;
}

export const MAX_GRAPHQL_SAMPLES = MAX_SAMPLES_PER_REQUEST;

import { ArrayMinSize, IsOptional, Max, MaxLength, Min } from 'class-validator';
import { GraphQLJSON } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, registerEnumType } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { Paginated } from '../../graphql/pagination.js';
import { HEALTH_STATUSES, HEALTH_SYSTEMS, type HealthStatus, type HealthSystem } from '../../lib/health.js';

export const HealthSystemEnum = Object.fromEntries(HEALTH_SYSTEMS.map((s) => [s, s])) as { [S in HealthSystem]: S };
registerEnumType(HealthSystemEnum, { name: 'HealthSystem', description: 'The seven systems the health checks probe (lower case, as in REST).' });
export const HealthStatusEnum = Object.fromEntries(HEALTH_STATUSES.map((s) => [s, s])) as { [S in HealthStatus]: S };
registerEnumType(HealthStatusEnum, { name: 'HealthStatus', description: 'healthy, degraded or unhealthy (lower case, as in REST).' });

@OutputType('HealthCheckResult', { description: 'One system checked at one instant.' })
export class HealthCheckResultType {
  @Field(() => ID) id!: string;
  @Field(() => HealthSystemEnum) system!: HealthSystem;
  @Field(() => HealthStatusEnum) status!: HealthStatus;
  @Field() message!: string;
  @Field(() => GraphQLJSON, { description: 'The readings behind the verdict (the system\'s own keys).' }) metrics!: Record<string, unknown>;
  @Field() timestamp!: Date;
  @Field(() => Int, { description: 'Milliseconds the check took.' }) duration!: number;
}

export const HealthHistoryPage = Paginated(HealthCheckResultType, 'HealthCheckResultPage');

@OutputType('HealthCheckSummary')
export class HealthCheckSummaryType {
  @Field(() => Int) total!: number;
  @Field(() => Int) healthy!: number;
  @Field(() => Int) degraded!: number;
  @Field(() => Int) unhealthy!: number;
}

@OutputType('SkippedHealthCheck', { description: 'A system this process could not check, and why.' })
export class SkippedHealthCheckType {
  @Field(() => HealthSystemEnum) system!: HealthSystem;
  @Field() reason!: string;
}

@OutputType('HealthCheckRun', { description: 'What one run of the health checks found; the results are stored.' })
export class HealthCheckRunType {
  @Field(() => HealthStatusEnum) overallStatus!: HealthStatus;
  @Field(() => [HealthCheckResultType]) checks!: HealthCheckResultType[];
  @Field(() => HealthCheckSummaryType) summary!: HealthCheckSummaryType;
  @Field(() => [SkippedHealthCheckType]) skipped!: SkippedHealthCheckType[];
  @Field(() => Int, { description: 'Milliseconds the run took.' }) duration!: number;
}

@OutputType('SystemHealth', { description: "A system's latest stored result." })
export class SystemHealthType {
  @Field(() => HealthSystemEnum) system!: HealthSystem;
  @Field(() => HealthStatusEnum) status!: HealthStatus;
  @Field() message!: string;
  @Field() checkedAt!: Date;
  @Field({ description: 'Since when the system has had this status.' }) since!: Date;
  @Field({ description: 'No check refreshed it for three intervals.' }) stale!: boolean;
}

@OutputType('HealthSummary', { description: 'The latest result of each enabled system.' })
export class HealthSummaryType {
  @Field(() => HealthStatusEnum, { description: 'The worst of the enabled systems; degraded while one has no result yet or a stale one.' }) status!: HealthStatus;
  @Field(() => Date, { nullable: true }) lastCheck!: Date | null;
  @Field(() => [SystemHealthType]) systems!: SystemHealthType[];
}

@OutputType('HealthThresholds', { description: 'Percentages at or above which a reading counts against its system.' })
export class HealthThresholdsType {
  @Field(() => Float) cpu!: number;
  @Field(() => Float) memory!: number;
  @Field(() => Float) disk!: number;
}

@OutputType('HealthTimeouts', { description: "Seconds each system's check may take." })
export class HealthTimeoutsType {
  @Field(() => Int) system!: number;
  @Field(() => Int) disk!: number;
  @Field(() => Int) api!: number;
  @Field(() => Int) websocket!: number;
  @Field(() => Int) data!: number;
  @Field(() => Int) service!: number;
  @Field(() => Int) network!: number;
}

@OutputType('HealthConfig', { description: 'The health checks\' settings in force.' })
export class HealthConfigType {
  @Field(() => Int, { description: 'Seconds between scheduled runs.' }) interval!: number;
  @Field(() => Int, { description: 'Seconds a check may take unless `timeouts` gives it its own.' }) timeout!: number;
  @Field(() => HealthTimeoutsType) timeouts!: HealthTimeoutsType;
  @Field(() => HealthThresholdsType) thresholds!: HealthThresholdsType;
  @Field(() => [HealthSystemEnum]) enabledSystems!: HealthSystem[];
}

@InputType()
export class HealthHistoryFilter {
  @Field(() => HealthSystemEnum, { nullable: true }) system?: HealthSystem;
  @Field(() => HealthStatusEnum, { nullable: true }) status?: HealthStatus;
  @Field({ nullable: true, description: 'A duration back from now (`30m`, `1h`, `7d`) or an ISO-8601 instant.' }) @IsOptional() @MaxLength(40) since?: string;
}

@InputType()
export class HealthThresholdsInput {
  @Field(() => Float, { nullable: true }) @IsOptional() @Min(1) @Max(100) cpu?: number;
  @Field(() => Float, { nullable: true }) @IsOptional() @Min(1) @Max(100) memory?: number;
  @Field(() => Float, { nullable: true }) @IsOptional() @Min(1) @Max(100) disk?: number;
}

@InputType()
export class HealthTimeoutsInput {
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(1) @Max(60) system?: number;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(1) @Max(60) disk?: number;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(1) @Max(60) api?: number;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(1) @Max(60) websocket?: number;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(1) @Max(60) data?: number;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(1) @Max(60) service?: number;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(1) @Max(60) network?: number;
}

@InputType({ description: 'The settings to change; the others keep their value.' })
export class UpdateHealthConfigInput {
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(10) @Max(86_400) interval?: number;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(1) @Max(60) timeout?: number;
  @Field(() => HealthTimeoutsInput, { nullable: true }) timeouts?: HealthTimeoutsInput;
  @Field(() => HealthThresholdsInput, { nullable: true }) thresholds?: HealthThresholdsInput;
  @Field(() => [HealthSystemEnum], { nullable: true }) @IsOptional() @ArrayMinSize(1) enabledSystems?: HealthSystem[];
}

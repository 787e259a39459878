import { ArrayMaxSize, IsIn, IsOptional, Max, MaxLength, Min, MinLength } from 'class-validator';
import { GraphQLJSON } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, registerEnumType } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { Paginated } from '../../graphql/pagination.js';
import { OPERATORS } from '../../lib/alerting.js';
import { ALERT_SOURCES, ALERT_STATES, type AlertSource, type AlertState } from './alerts.events.js';

export const AlertStatusEnum = Object.fromEntries(ALERT_STATES.map((s) => [s, s])) as { [S in AlertState]: S };
registerEnumType(AlertStatusEnum, { name: 'AlertStatus', description: 'pending → firing → resolved.' });
export const AlertSourceEnum = Object.fromEntries(ALERT_SOURCES.map((s) => [s, s])) as { [S in AlertSource]: S };
registerEnumType(AlertSourceEnum, { name: 'AlertSource' });

const SEVERITY_INPUT = ['critical', 'high', 'medium', 'low', 'warning', 'info'];
const MAX_SECONDS = 31 * 86_400;

@OutputType('Alert', { description: 'An alert of any source; one per rule and label set (its fingerprint) while open.' })
export class AlertType {
  @Field(() => ID) id!: string;
  @Field() fingerprint!: string;
  @Field(() => AlertSourceEnum) source!: AlertSource;
  @Field(() => ID, { nullable: true }) ruleId!: string | null;
  @Field(() => String, { nullable: true }) ruleName!: string | null;
  @Field(() => AlertStatusEnum) status!: AlertState;
  @Field({ description: 'critical, high, medium or low.' }) severity!: string;
  @Field() title!: string;
  @Field() message!: string;
  @Field(() => GraphQLJSON, { description: 'The label set: { key: value }.' }) labels!: Record<string, string>;
  @Field(() => Float, { nullable: true }) value!: number | null;
  @Field(() => Float, { nullable: true }) threshold!: number | null;
  @Field(() => GraphQLJSON) metadata!: Record<string, unknown>;
  @Field({ description: 'When its condition started to hold.' }) activeAt!: Date;
  @Field(() => Date, { nullable: true }) firedAt!: Date | null;
  @Field(() => Date, { nullable: true }) resolvedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'Cleared when the alert changes state.' }) acknowledgedAt!: Date | null;
  @Field(() => String, { nullable: true }) acknowledgedBy!: string | null;
  @Field(() => String, { nullable: true }) acknowledgeNote!: string | null;
  @Field(() => String, { nullable: true }) resolvedBy!: string | null;
  @Field(() => String, { nullable: true }) resolutionNotes!: string | null;
  @Field(() => ID, { nullable: true, description: 'The NODE alert this one follows from: recorded, not notified.' }) suppressedBy!: string | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}
export const AlertPage = Paginated(AlertType, 'AlertPage');

@OutputType('AlertChanged')
export class AlertChangedType {
  @Field(() => AlertType) alert!: AlertType;
  @Field(() => AlertStatusEnum, { nullable: true, description: 'The state before; the same as alert.status for an acknowledgement.' }) previousStatus!: AlertState | null;
}

@OutputType('AlertCondition')
export class AlertConditionType {
  @Field() operator!: string;
  @Field(() => Float) threshold!: number;
  @Field(() => Int, { description: 'Seconds the condition must hold before firing.' }) duration!: number;
}

@OutputType('AlertRuleStats')
export class AlertRuleStatsType {
  @Field(() => Int) totalAlerts!: number;
  @Field(() => Int) openAlerts!: number;
  @Field(() => Date, { nullable: true }) lastFired!: Date | null;
}

@OutputType('AlertRule')
export class AlertRuleType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() enabled!: boolean;
  @Field() metric!: string;
  @Field(() => GraphQLJSON, { description: 'Label matchers { key: value }: a series matches when it carries them all.' }) labels!: Record<string, string>;
  @Field(() => AlertConditionType) condition!: AlertConditionType;
  @Field(() => Float, { nullable: true }) recoveryThreshold!: number | null;
  @Field(() => Int) keepFiringFor!: number;
  @Field() severity!: string;
  @Field(() => [String], { description: 'Channel names.' }) channels!: string[];
  @Field(() => GraphQLJSON) metadata!: Record<string, unknown>;
  @Field({ description: 'The last evaluation found no sample of the metric for any matching series.' }) noData!: boolean;
  @Field(() => Date, { nullable: true }) silencedUntil!: Date | null;
  @Field(() => String, { nullable: true }) silenceReason!: string | null;
  @Field(() => AlertRuleStatsType, { nullable: true, description: 'On alertRule(id) only.' }) stats?: AlertRuleStatsType;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}
export const AlertRulePage = Paginated(AlertRuleType, 'AlertRulePage');

@OutputType('AlertRuleSilence')
export class AlertRuleSilenceType {
  @Field() silenced!: boolean;
  @Field() until!: Date;
}

@OutputType('NotificationChannel')
export class NotificationChannelType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field({ description: 'console, file or webhook.' }) type!: string;
  @Field() enabled!: boolean;
  @Field(() => GraphQLJSON, { description: 'webhook: url, method, headers (never the secret); file: path.' }) config!: Record<string, unknown>;
  @Field() hasSecret!: boolean;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@OutputType('AlertNotification', { description: 'A delivery attempt, or a notice held (silenced, suppressed, deduplicated) or waiting (queued).' })
export class AlertNotificationType {
  @Field(() => ID, { nullable: true }) notificationId!: string | null;
  @Field() channel!: string;
  @Field(() => ID) channelId!: string;
  @Field({ description: 'firing or resolved.' }) kind!: string;
  @Field() status!: string;
  @Field(() => Int, { nullable: true }) attempt!: number | null;
  @Field(() => Int, { nullable: true }) responseCode!: number | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => Int, { nullable: true }) durationMs!: number | null;
  @Field() at!: Date;
}
export const AlertNotificationPage = Paginated(AlertNotificationType, 'AlertNotificationPage');

@OutputType('NotificationTestResult')
export class NotificationTestResultType {
  @Field() delivered!: boolean;
  @Field() status!: string;
  @Field(() => Int, { nullable: true }) responseCode!: number | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => Int) durationMs!: number;
}

@OutputType('AlertingWindow')
export class AlertingWindowType {
  @Field() enabled!: boolean;
  @Field(() => Int, { description: 'Seconds.' }) window!: number;
}

@OutputType('ChannelSwitch')
export class ChannelSwitchType {
  @Field() enabled!: boolean;
}

@OutputType('ChannelSwitches')
export class ChannelSwitchesType {
  @Field(() => ChannelSwitchType) console!: ChannelSwitchType;
  @Field(() => ChannelSwitchType) file!: ChannelSwitchType;
  @Field(() => ChannelSwitchType) webhook!: ChannelSwitchType;
}

@OutputType('AlertingConfig')
export class AlertingConfigType {
  @Field(() => Int, { description: 'Seconds between evaluation cycles.' }) evaluationInterval!: number;
  @Field(() => AlertingWindowType) deduplication!: AlertingWindowType;
  @Field(() => AlertingWindowType) aggregation!: AlertingWindowType;
  @Field(() => ChannelSwitchesType) channels!: ChannelSwitchesType;
  @Field(() => [String], { description: 'Channels of alerts without a rule.' }) defaultChannels!: string[];
}

@InputType()
export class AlertRuleFilter {
  @Field({ nullable: true, description: 'enabled, disabled or all.' }) @IsOptional() @IsIn(['enabled', 'disabled', 'all']) status?: 'enabled' | 'disabled' | 'all';
  @Field({ nullable: true }) @IsOptional() @IsIn(SEVERITY_INPUT) severity?: string;
}

@InputType()
export class AlertFilter {
  @Field(() => AlertStatusEnum, { nullable: true }) status?: AlertState;
  @Field({ nullable: true }) @IsOptional() @IsIn(SEVERITY_INPUT) severity?: string;
  @Field(() => ID, { nullable: true }) @IsOptional() @MaxLength(100) ruleId?: string;
  @Field(() => AlertSourceEnum, { nullable: true }) source?: AlertSource;
  @Field({ nullable: true }) since?: Date;
}

@InputType()
export class AlertConditionInput {
  @Field() @IsIn([...OPERATORS], { message: `condition.operator: one of ${OPERATORS.join(' ')}` }) operator!: string;
  @Field(() => Float) threshold!: number;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) @Max(MAX_SECONDS) duration?: number;
}

@InputType()
export class AlertConditionPatchInput {
  @Field({ nullable: true }) @IsOptional() @IsIn([...OPERATORS]) operator?: string;
  @Field(() => Float, { nullable: true }) threshold?: number;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) @Max(MAX_SECONDS) duration?: number;
}

@InputType()
export class CreateAlertRuleInput {
  @Field() @MinLength(1) @MaxLength(200) name!: string;
  @Field() @MinLength(1) @MaxLength(200) metric!: string;
  @Field(() => GraphQLJSON, { nullable: true }) labels?: Record<string, string>;
  @Field(() => AlertConditionInput) condition!: AlertConditionInput;
  @Field(() => Float, { nullable: true }) recoveryThreshold?: number;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) @Max(MAX_SECONDS) keepFiringFor?: number;
  @Field() @IsIn(['critical', 'high', 'medium', 'low']) severity!: string;
  @Field(() => [String]) @ArrayMaxSize(20) channels!: string[];
  @Field(() => GraphQLJSON, { nullable: true }) metadata?: Record<string, unknown>;
  @Field({ nullable: true }) enabled?: boolean;
}

@InputType()
export class UpdateAlertRuleInput {
  @Field({ nullable: true }) @IsOptional() @MinLength(1) @MaxLength(200) name?: string;
  @Field({ nullable: true }) @IsOptional() @MinLength(1) @MaxLength(200) metric?: string;
  @Field(() => GraphQLJSON, { nullable: true }) labels?: Record<string, string>;
  @Field(() => AlertConditionPatchInput, { nullable: true }) condition?: AlertConditionPatchInput;
  @Field(() => Float, { nullable: true }) recoveryThreshold?: number;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) @Max(MAX_SECONDS) keepFiringFor?: number;
  @Field({ nullable: true }) @IsOptional() @IsIn(['critical', 'high', 'medium', 'low']) severity?: string;
  @Field(() => [String], { nullable: true }) @IsOptional() @ArrayMaxSize(20) channels?: string[];
  @Field(() => GraphQLJSON, { nullable: true }) metadata?: Record<string, unknown>;
  @Field({ nullable: true }) enabled?: boolean;
}

@InputType()
export class CreateAlertInput {
  @Field() @IsIn(SEVERITY_INPUT) severity!: string;
  @Field() @MinLength(1) @MaxLength(200) title!: string;
  @Field({ nullable: true }) @IsOptional() @MaxLength(5_000) message?: string;
  @Field(() => GraphQLJSON, { nullable: true }) metadata?: Record<string, unknown>;
}

@InputType()
export class CreateNotificationChannelInput {
  @Field() @MinLength(1) @MaxLength(100) name!: string;
  @Field({ nullable: true, defaultValue: 'webhook', description: 'webhook (console and file exist already).' }) @IsOptional() @IsIn(['webhook']) type?: string;
  @Field() @MinLength(1) @MaxLength(2_000) url!: string;
  @Field({ nullable: true }) @IsOptional() @IsIn(['POST', 'PUT', 'PATCH']) method?: string;
  @Field(() => GraphQLJSON, { nullable: true }) headers?: Record<string, string>;
  @Field({ nullable: true, description: 'HMAC key of X-Opsgraph-Signature; write-only.' }) @IsOptional() @MinLength(8) @MaxLength(500) secret?: string;
  @Field({ nullable: true }) enabled?: boolean;
}

@InputType()
export class AlertingWindowInput {
  @Field({ nullable: true }) enabled?: boolean;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) @Max(86_400) window?: number;
}

@InputType()
export class ChannelSwitchInput {
  @Field() enabled!: boolean;
}

@InputType()
export class ChannelSwitchesInput {
  @Field(() => ChannelSwitchInput, { nullable: true }) console?: ChannelSwitchInput;
  @Field(() => ChannelSwitchInput, { nullable: true }) file?: ChannelSwitchInput;
  @Field(() => ChannelSwitchInput, { nullable: true }) webhook?: ChannelSwitchInput;
}

@InputType()
export class UpdateAlertingConfigInput {
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(1) @Max(3_600) evaluationInterval?: number;
  @Field(() => AlertingWindowInput, { nullable: true }) deduplication?: AlertingWindowInput;
  @Field(() => AlertingWindowInput, { nullable: true }) aggregation?: AlertingWindowInput;
  @Field(() => ChannelSwitchesInput, { nullable: true }) channels?: ChannelSwitchesInput;
  @Field(() => [String], { nullable: true }) @IsOptional() @ArrayMaxSize(50) defaultChannels?: string[];
}

import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { actorOf } from '../../auth/actor.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { PageInput } from '../../graphql/pagination.js';
import { AppError } from '../../lib/errors.js';
import type { Page } from '../../lib/pagination.js';
import type { AlertingConfig } from './alerts.config.js';
import { ALERT_CHANGED, type AlertChangedEvent } from './alerts.events.js';
import type { DeliveryOutcome } from './alerts.notifier.js';
import type { AlertRecord, ChannelRecord, RuleRecord } from './alerts.records.js';
import type { AlertsService, NotificationEntry } from './alerts.service.js';
import {
  AlertChangedType,
  AlertFilter,
  AlertingConfigType,
  AlertNotificationPage,
  AlertPage,
  AlertRuleFilter,
  AlertRulePage,
  AlertRuleSilenceType,
  AlertRuleType,
  AlertType,
  CreateAlertInput,
  CreateAlertRuleInput,
  CreateNotificationChannelInput,
  NotificationChannelType,
  NotificationTestResultType,
  UpdateAlertingConfigInput,
  UpdateAlertRuleInput,
} from './alerts.types.js';

/** A JSON argument that must be a map of strings (labels, headers), named when it is not. */
function stringMap(v: unknown, field: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string') || Object.keys(v).length > 32) {
    throw new AppError('BAD_USER_INPUT', `${field}: an object of at most 32 string values`, { field });
  }
  return v as Record<string, string>;
}
function plainMap(v: unknown, field: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || JSON.stringify(v).length > 10_000) throw new AppError('BAD_USER_INPUT', `${field}: an object of at most 10,000 characters as JSON`, { field });
  return v as Record<string, unknown>;
}

@Resolver()
export class AlertsResolver {
  private readonly service: AlertsService;

  constructor(services: { alerts: AlertsService }) {
    this.service = services.alerts;
  }

  @Authorized('VIEWER')
  @Query(() => AlertRulePage, { description: 'Alert rules, by name (sort: name, createdAt, updatedAt, severity).' })
  alertRules(@Arg('filter', () => AlertRuleFilter, { nullable: true }) filter?: AlertRuleFilter, @Arg('page', () => PageInput, { nullable: true }) page?: PageInput): Promise<Page<RuleRecord>> {
    return this.service.listRules(filter, page);
  }

  @Authorized('VIEWER')
  @Query(() => AlertRuleType)
  alertRule(@Arg('id', () => ID) id: string): Promise<RuleRecord> {
    return this.service.getRule(id);
  }

  @Authorized('VIEWER')
  @Query(() => AlertPage, { description: 'Alerts of every source, newest first (sort: createdAt, firedAt, resolvedAt, severity).' })
  alerts(@Arg('filter', () => AlertFilter, { nullable: true }) filter?: AlertFilter, @Arg('page', () => PageInput, { nullable: true }) page?: PageInput): Promise<Page<AlertRecord>> {
    return this.service.listAlerts(filter, page);
  }

  @Authorized('VIEWER')
  @Query(() => AlertNotificationPage, { description: 'Every delivery attempt of an alert, and its notices held or waiting, oldest first.' })
  alertNotifications(@Arg('alertId', () => ID) alertId: string, @Arg('page', () => PageInput, { nullable: true }) page?: PageInput): Promise<Page<NotificationEntry>> {
    return this.service.notifications(alertId, page);
  }

  @Authorized('VIEWER')
  @Query(() => AlertingConfigType)
  alertingConfig(): Promise<AlertingConfig> {
    return this.service.config();
  }

  @Authorized('VIEWER')
  @Query(() => [NotificationChannelType])
  notificationChannels(): Promise<ChannelRecord[]> {
    return this.service.channels();
  }

  @Authorized('ADMIN')
  @Mutation(() => AlertRuleType)
  createAlertRule(@Arg('input') input: CreateAlertRuleInput, @Ctx() ctx: GraphQLContext): Promise<RuleRecord> {
    return this.service.createRule(
      { ...input, labels: stringMap(input.labels, 'input.labels'), metadata: plainMap(input.metadata, 'input.metadata'), recoveryThreshold: input.recoveryThreshold ?? null },
      actorOf(ctx),
    );
  }

  @Authorized('ADMIN')
  @Mutation(() => AlertRuleType, { description: 'Fields left out stay as they are.' })
  updateAlertRule(@Arg('id', () => ID) id: string, @Arg('input') input: UpdateAlertRuleInput, @Ctx() ctx: GraphQLContext): Promise<RuleRecord> {
    const { labels, metadata, condition, ...rest } = input;
    return this.service.updateRule(
      id,
      {
        ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined && v !== null)),
        ...(input.recoveryThreshold !== undefined ? { recoveryThreshold: input.recoveryThreshold } : {}),
        labels: stringMap(labels, 'input.labels'),
        metadata: plainMap(metadata, 'input.metadata'),
        condition: condition ? Object.fromEntries(Object.entries(condition).filter(([, v]) => v !== undefined && v !== null)) : undefined,
      },
      actorOf(ctx),
    );
  }

  @Authorized('ADMIN')
  @Mutation(() => Boolean)
  deleteAlertRule(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return this.service.deleteRule(id, actorOf(ctx));
  }

  @Authorized('OPERATOR')
  @Mutation(() => AlertRuleSilenceType, { description: 'Holds the rule\'s notifications for `duration` seconds; its alerts are still recorded.' })
  silenceAlertRule(
    @Arg('id', () => ID) id: string,
    @Arg('duration', () => Int) duration: number,
    @Ctx() ctx: GraphQLContext,
    @Arg('reason', () => String, { nullable: true }) reason?: string | null,
  ): Promise<{ silenced: true; until: Date }> {
    return this.service.silenceRule(id, duration, reason ?? null, actorOf(ctx));
  }

  @Authorized('OPERATOR')
  @Mutation(() => AlertType)
  acknowledgeAlert(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext, @Arg('note', () => String, { nullable: true }) note?: string | null): Promise<AlertRecord> {
    return this.service.acknowledge(id, note ?? null, actorOf(ctx));
  }

  @Authorized('OPERATOR')
  @Mutation(() => AlertType)
  resolveAlert(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext, @Arg('note', () => String, { nullable: true }) note?: string | null): Promise<AlertRecord> {
    return this.service.resolve(id, { note: note ?? null }, actorOf(ctx));
  }

  @Authorized('OPERATOR')
  @Mutation(() => AlertType, { description: 'A manual alert (source MANUAL), firing at once on the default channels.' })
  createAlert(@Arg('input') input: CreateAlertInput, @Ctx() ctx: GraphQLContext): Promise<AlertRecord> {
    return this.service.createManual({ ...input, metadata: plainMap(input.metadata, 'input.metadata') }, actorOf(ctx));
  }

  @Authorized('ADMIN')
  @Mutation(() => NotificationChannelType, { description: 'A webhook channel.' })
  createNotificationChannel(@Arg('input') input: CreateNotificationChannelInput, @Ctx() ctx: GraphQLContext): Promise<ChannelRecord> {
    return this.service.createChannel(
      { name: input.name, type: 'webhook', enabled: input.enabled, config: { url: input.url, method: input.method, headers: stringMap(input.headers, 'input.headers'), secret: input.secret } },
      actorOf(ctx),
    );
  }

  @Authorized('ADMIN')
  @Mutation(() => NotificationTestResultType, { description: 'Sends a `test` message to the channel now and answers how it went.' })
  testNotificationChannel(@Arg('id', () => ID) id: string): Promise<DeliveryOutcome> {
    return this.service.testChannel(id);
  }

  @Authorized('ADMIN')
  @Mutation(() => AlertingConfigType)
  updateAlertingConfig(@Arg('input') input: UpdateAlertingConfigInput, @Ctx() ctx: GraphQLContext): Promise<AlertingConfig> {
    const clean = <T extends object>(o: T | undefined | null) => (o ? (Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>) : undefined);
    return this.service.updateConfig(
      {
        evaluationInterval: input.evaluationInterval ?? undefined,
        deduplication: clean(input.deduplication),
        aggregation: clean(input.aggregation),
        channels: clean(input.channels) as never,
        defaultChannels: input.defaultChannels ?? undefined,
      },
      actorOf(ctx),
    );
  }

  @Authorized('VIEWER')
  @Subscription(() => AlertChangedType, { topics: ALERT_CHANGED.type, description: 'alert:changed: every transition, acknowledgement and resolution.' })
  alertChanged(@Root() event: AlertChangedEvent): AlertChangedEvent {
    return event;
  }
}

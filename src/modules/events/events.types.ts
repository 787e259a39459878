import { Field } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { GraphQLJSON } from 'graphql-scalars';
import { ALERT_CHANGED } from '../alerts/alerts.events.js';
import { HEALTH_CHANGED } from '../health/health.events.js';
import { BACKUP_COMPLETED, BACKUP_FAILED } from '../backups/backups.events.js';
import { LICENSE_UPDATED } from '../licenses/licenses.events.js';
import { SLA_ALERT, SLA_INCIDENT, STATUS_CHANGED } from '../sla/sla.events.js';
import { RUNBOOK_EXECUTED } from '../runbooks/runbooks.events.js';
import { TICKET_CREATED, TICKET_DELETED, TICKET_UPDATED } from '../tickets/tickets.events.js';

/** Every event the stream carries, by the contracts of the modules that raise them (the seed's names, verbatim). */
export const OPS_EVENTS = [TICKET_CREATED, TICKET_UPDATED, TICKET_DELETED, SLA_ALERT, SLA_INCIDENT, LICENSE_UPDATED, STATUS_CHANGED, RUNBOOK_EXECUTED, HEALTH_CHANGED, BACKUP_COMPLETED, BACKUP_FAILED, ALERT_CHANGED] as const;
export const OPS_EVENT_TYPES: readonly string[] = OPS_EVENTS.map((d) => d.type);

@OutputType('OpsEvent', { description: 'A domain event as raised on the event bus by any instance or worker.' })
export class OpsEventType {
  @Field({ description: `One of: ${OPS_EVENT_TYPES.join(', ')}.` })
  type!: string;

  @Field(() => GraphQLJSON, { nullable: true })
  payload!: unknown;

  @Field()
  timestamp!: Date;
}

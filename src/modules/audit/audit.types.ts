import { MaxLength } from 'class-validator';
import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, InputType, Int, registerEnumType } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { Paginated } from '../../graphql/pagination.js';
import { AUDIT_ACTOR_TYPES, type AuditActorType } from '../../auth/actor.js';

export const AuditActorTypeEnum = Object.fromEntries(AUDIT_ACTOR_TYPES.map((t) => [t, t])) as { [T in AuditActorType]: T };
registerEnumType(AuditActorTypeEnum, { name: 'AuditActorType', description: 'USER: a person; API_KEY: an agent or job; SYSTEM: Opsgraph itself (bootstrap, CLI, scheduled jobs).' });

@OutputType('AuditEntry', { description: 'One change, who made it and from where. Secrets in before/after are redacted.' })
export class AuditEntryType {
  @Field(() => ID) id!: string;
  @Field({ description: 'e.g. user.create, user.update, apikey.create, apikey.revoke, auth.login, auth.logout, slagroup.update, service.create, service.update, backup.report.' })
  action!: string;
  @Field() resourceType!: string;
  @Field(() => String, { nullable: true }) resourceId!: string | null;
  @Field(() => AuditActorTypeEnum) actorType!: AuditActorType;
  @Field(() => String, { nullable: true, description: 'User id, API key id, or the name of the system job.' }) actorId!: string | null;
  @Field(() => GraphQLJSON, { nullable: true }) before!: unknown;
  @Field(() => GraphQLJSON, { nullable: true }) after!: unknown;
  @Field(() => String, { nullable: true }) ip!: string | null;
  @Field(() => String, { nullable: true }) requestId!: string | null;
  @Field() at!: Date;
  @Field({ description: 'Position in the hash chain (a 64-bit integer, as text).' }) seq!: string;
  @Field({ description: 'SHA-256 of the previous entry; the chain link.' }) prevHash!: string;
  @Field({ description: "SHA-256 over this entry's canonical content and prevHash." }) hash!: string;
}

@InputType()
export class AuditLogFilter {
  @Field({ nullable: true }) @MaxLength(255) actorId?: string;
  @Field({ nullable: true }) @MaxLength(100) action?: string;
  @Field({ nullable: true }) @MaxLength(100) resourceType?: string;
  @Field({ nullable: true }) @MaxLength(255) resourceId?: string;
  @Field({ nullable: true, description: 'Entries at or after this instant.' }) since?: Date;
}

export const AuditEntryPage = Paginated(AuditEntryType, 'AuditEntryPage');

@OutputType('AuditChainVerification')
export class AuditChainVerificationType {
  @Field({ description: 'Every remaining entry matches its hash and links to the one before it.' }) ok!: boolean;
  @Field(() => Int, { description: 'Entries examined, the broken one included.' }) checked!: number;
  @Field(() => ID, { nullable: true, description: 'The first entry whose hash or link does not hold.' }) firstBrokenId!: string | null;
}

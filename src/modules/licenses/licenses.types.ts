import { Field, ID, Int, registerEnumType } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import type { LicenseAction as Action, LicenseStatus as Status } from './licenses.service.js';

export const LicenseStatusEnum = { ACTIVE: 'ACTIVE', EXPIRING: 'EXPIRING', EXPIRED: 'EXPIRED' } as const satisfies { [S in Status]: S };
registerEnumType(LicenseStatusEnum, {
  name: 'LicenseStatus',
  description: 'ACTIVE; EXPIRING within the warning window (14 days by default), plugins still on; EXPIRED, plugins off.',
});

export const LicenseActionEnum = { ACTIVATED: 'ACTIVATED', EXPIRING: 'EXPIRING', EXPIRED: 'EXPIRED' } as const satisfies { [A in Action]: A };
registerEnumType(LicenseActionEnum, { name: 'LicenseAction' });

@OutputType('License', { description: 'The active license: the newest one activated.' })
export class LicenseType {
  @Field() customer!: string;
  @Field(() => [String], { description: 'Plugins the license names: ticketing, sla, audit.' }) plugins!: string[];
  @Field(() => [String], { description: 'Plugins on now: those of `plugins` until the license expires, none after.' }) activePlugins!: string[];
  @Field() issuedAt!: Date;
  @Field() expiresAt!: Date;
  @Field(() => LicenseStatusEnum) status!: Status;
  @Field(() => Int, { nullable: true, description: 'Most services the fleet may hold; none when absent.' }) maxServices!: number | null;
  @Field() activatedAt!: Date;
}

@OutputType('LicenseActivation', { description: 'The answer of POST /api/v1/license/activate, with the license it made active.' })
export class LicenseActivationType {
  @Field() success!: boolean;
  @Field() message!: string;
  @Field() customer!: string;
  @Field(() => [String]) plugins!: string[];
  @Field(() => LicenseType) license!: LicenseType;
}

@OutputType('LicenseActivationRecord', { description: 'One activation of the history (the key itself is never stored).' })
export class LicenseActivationRecordType {
  @Field(() => ID) id!: string;
  @Field() customer!: string;
  @Field(() => [String]) plugins!: string[];
  @Field() issuedAt!: Date;
  @Field() expiresAt!: Date;
  @Field(() => Int, { nullable: true }) maxServices!: number | null;
  @Field(() => String, { nullable: true, description: 'The configured public key that verified it: its name or JWK thumbprint.' }) kid!: string | null;
  @Field() activatedAt!: Date;
  @Field(() => ID, { nullable: true, description: 'null: activated over REST or the CLI.' }) activatedById!: string | null;
  @Field({ description: 'rest, graphql or cli' }) activatedVia!: string;
  @Field(() => Date, { nullable: true }) expiryWarnedAt!: Date | null;
  @Field(() => Date, { nullable: true }) expiredAt!: Date | null;
}

@OutputType('LicenseUpdate', { description: 'license:updated: a license was activated, is about to expire, or expired.' })
export class LicenseUpdateType {
  @Field(() => LicenseActionEnum) action!: Action;
  @Field() message!: string;
  @Field(() => LicenseType) license!: LicenseType;
}

import { MaxLength, MinLength } from 'class-validator';
import { Arg, Args, ArgsType, Authorized, Ctx, Field, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { actorOf } from '../../auth/actor.js';
import { LICENSE_UPDATED } from './licenses.events.js';
import { MAX_LICENSE_KEY_LENGTH, MAX_PUBLIC_KEY_LENGTH, type LicenseService, type LicenseUpdatedEvent, type LicenseView } from './licenses.service.js';
import { LicenseActivationRecordType, LicenseActivationType, LicenseType, LicenseUpdateType } from './licenses.types.js';

@ArgsType()
class ActivateLicenseArgs {
  @Field({ description: 'The license key: a compact JWS signed with Ed25519.' })
  @MinLength(1)
  @MaxLength(MAX_LICENSE_KEY_LENGTH)
  licenseKey!: string;
}

@ArgsType()
class SetLicensePublicKeyArgs {
  @Field({ description: 'Ed25519 public key(s) as SPKI PEM text (`license-public.pem`), each block optionally under a `kid: <name>` line; empty text removes the keys set before.' })
  @MaxLength(MAX_PUBLIC_KEY_LENGTH)
  publicKey!: string;
}

/** Events travel as JSON: dates come back as strings. */

@Resolver()
export class LicensesResolver {
  private readonly licenses: LicenseService;

  constructor(services: { licenses: LicenseService }) {
    this.licenses = services.licenses;
  }

  @Authorized('VIEWER')
  @Query(() => LicenseType, { nullable: true, description: 'The active license (null when none was ever activated); consoles read it to show the licensed features.' })
  license(): Promise<LicenseView | null> {
    return this.licenses.current();
  }

  @Authorized('ADMIN')
  @Query(() => [LicenseActivationRecordType], { description: 'Every activation, newest first (the first one is the active license).' })
  licenseActivations(@Arg('limit', () => Int, { nullable: true, defaultValue: 50 }) limit: number): Promise<LicenseActivationRecordType[]> {
    return this.licenses.history(Math.min(Math.max(1, limit), 500));
  }

  @Authorized('ADMIN')
  @Mutation(() => LicenseActivationType, { description: 'Verifies and activates a license key; a refused key leaves the active license unchanged.' })
  activateLicense(@Args() { licenseKey }: ActivateLicenseArgs, @Ctx() ctx: GraphQLContext): Promise<LicenseActivationType> {
    return this.licenses.activate(licenseKey, 'graphql', actorOf(ctx));
  }

  @Authorized('ADMIN')
  @Mutation(() => Boolean, {
    description:
      'Sets the Ed25519 public key(s) that verify license keys besides LICENSE_PUBLIC_KEY, replacing those set before (e.g. a development key pair from `npm run license -- keygen`). ' +
      'Stored in the database: every instance uses them from its next activation on. Not PEM, or a private key: BAD_USER_INPUT naming publicKey.',
  })
  async setLicensePublicKey(@Args() { publicKey }: SetLicensePublicKeyArgs, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    await this.licenses.setPublicKeys(publicKey, actorOf(ctx));
    return true;
  }

  @Authorized('VIEWER')
  @Subscription(() => LicenseUpdateType, { topics: LICENSE_UPDATED.type, description: 'A license was activated, is about to expire, or expired (license:updated).' })
  licenseUpdated(@Root() event: LicenseUpdatedEvent): LicenseUpdateType {
    return event;
  }
}

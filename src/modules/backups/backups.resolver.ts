import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { actorOf } from '../../auth/actor.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { PageInput } from '../../graphql/pagination.js';
import type { Page } from '../../lib/pagination.js';
import type { BackupRecord, BackupRuns, BackupStatsRecord, RestoreOutcome, VerifyOutcome } from './backups.runs.js';
import { BackupFilter, BackupPage, BackupRestoreType, BackupStatsType, BackupType_, BackupVerificationType, CreateBackupInput, RestoreBackupInput } from './backups.types.js';

/** The Backup API over GraphQL: the same service, rules and errors as REST. */
@Resolver()
export class BackupsResolver {
  private readonly runs: BackupRuns;
  private readonly backupOps: (ip: string | undefined) => Promise<void>;

  constructor(services: { runs: BackupRuns; backupOps: (ip: string | undefined) => Promise<void> }) {
    this.runs = services.runs;
    this.backupOps = services.backupOps;
  }

  @Authorized('VIEWER')
  @Query(() => BackupPage, { description: 'Server-run backups, newest first by default (sort: created_at, size, type).' })
  backups(
    @Arg('filter', () => BackupFilter, { nullable: true }) filter?: BackupFilter,
    @Arg('page', () => PageInput, { nullable: true }) page?: PageInput,
  ): Promise<Page<BackupRecord>> {
    return this.runs.list(filter, page);
  }

  @Authorized('VIEWER')
  @Query(() => BackupType_)
  backup(@Arg('id', () => ID) id: string): Promise<BackupRecord> {
    return this.runs.get(id);
  }

  @Authorized('VIEWER')
  @Query(() => BackupStatsType, { description: 'Over completed backups whose archives are kept.' })
  backupStats(): Promise<BackupStatsRecord> {
    return this.runs.stats();
  }

  @Authorized('OPERATOR')
  @Mutation(() => BackupType_, { description: 'Queues a run and waits up to BACKUP_WAIT_SECONDS: completed, or still running (poll backup(id)).' })
  async createBackup(@Arg('input') input: CreateBackupInput, @Ctx() ctx: GraphQLContext): Promise<BackupRecord> {
    await this.backupOps(ctx.ip);
    const { backup } = await this.runs.createAndWait(
      { type: input.type, compression: input.compression ?? undefined, exclude: input.exclude ?? undefined, metadata: input.metadata, serviceId: input.serviceId },
      actorOf(ctx),
    );
    return backup;
  }

  @Authorized('OPERATOR')
  @Mutation(() => BackupVerificationType, { description: 'The archive checksum; with deep, every entry against the manifest. A failure is BACKUP_VERIFICATION_FAILED.' })
  async verifyBackup(
    @Arg('id', () => ID) id: string,
    @Arg('deep', () => Boolean, { nullable: true, defaultValue: false }) deep: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<VerifyOutcome> {
    await this.backupOps(ctx.ip);
    return this.runs.verify(id, deep);
  }

  @Authorized('OPERATOR')
  @Mutation(() => BackupRestoreType)
  async restoreBackup(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => RestoreBackupInput, { nullable: true }) input: RestoreBackupInput | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RestoreOutcome> {
    await this.backupOps(ctx.ip);
    return this.runs.restore(id, { target: input?.target ?? undefined, overwrite: input?.overwrite ?? false, verify: input?.verify ?? true }, actorOf(ctx));
  }

  @Authorized('OPERATOR')
  @Mutation(() => Boolean)
  async deleteBackup(
    @Arg('id', () => ID) id: string,
    @Arg('keepMetadata', () => Boolean, { nullable: true, defaultValue: false }) keepMetadata: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<boolean> {
    await this.backupOps(ctx.ip);
    await this.runs.remove(id, keepMetadata, actorOf(ctx));
    return true;
  }
}

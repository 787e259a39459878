import { ArrayMaxSize, IsIn, IsOptional, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';
import { GraphQLJSON, GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, registerEnumType } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { Paginated } from '../../graphql/pagination.js';
import type { BackupStatus, BackupType } from './backups.runs.js';

// The seed's lowercase words, so GraphQL and REST say the same.
export const BackupKindEnum = { full: 'full', incremental: 'incremental' } as const satisfies { [T in BackupType]: T };
registerEnumType(BackupKindEnum, { name: 'BackupKind' });
export const BackupRunStatusEnum = { pending: 'pending', running: 'running', completed: 'completed', failed: 'failed' } as const satisfies { [S in BackupStatus]: S };
registerEnumType(BackupRunStatusEnum, { name: 'BackupRunStatus' });

@OutputType('BackupRunStats', { description: 'A completed backup: files and bytes archived, archive size, ratio (percent saved), duration in ms.' })
export class BackupRunStatsType {
  @Field(() => Int) fileCount!: number;
  @Field(() => Float) originalSize!: number;
  @Field(() => Float) compressedSize!: number;
  @Field(() => Float) compressionRatio!: number;
  @Field(() => Int) duration!: number;
}

@OutputType('BackupVerificationState')
export class BackupVerificationStateType {
  @Field() lastVerified!: Date;
  @Field({ description: 'valid or invalid' }) status!: string;
}

@OutputType('Backup', { description: 'A backup the server made (seed 000 Backup API).' })
export class BackupType_ {
  @Field(() => ID) id!: string;
  @Field(() => BackupKindEnum) type!: BackupType;
  @Field(() => BackupRunStatusEnum) status!: BackupStatus;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) completedAt!: Date | null;
  @Field(() => BackupRunStatsType, { nullable: true, description: 'Once completed.' }) stats!: BackupRunStatsType | null;
  @Field(() => String, { nullable: true, description: 'The archive on the server; null once deleted.' }) location!: string | null;
  @Field(() => String, { nullable: true, description: 'sha256:<hex> of the archive.' }) checksum!: string | null;
  @Field(() => GraphQLJSON, { nullable: true }) metadata!: unknown;
  @Field(() => BackupVerificationStateType, { nullable: true }) verification!: BackupVerificationStateType | null;
  @Field(() => ID, { nullable: true, description: 'Incrementals: the backup this one is relative to.' }) parentId!: string | null;
  @Field(() => ID, { nullable: true }) serviceId!: string | null;
  @Field(() => Int) compression!: number;
  @Field(() => [String]) exclude!: string[];
  @Field(() => String, { nullable: true, description: 'Why the run failed.' }) error!: string | null;
  @Field(() => Date, { nullable: true, description: 'When the archive was deleted and the record kept.' }) deletedAt!: Date | null;
}

export const BackupPage = Paginated(BackupType_, 'BackupPage');

@OutputType('BackupStats')
export class BackupStatsType {
  @Field(() => Int) totalBackups!: number;
  @Field(() => Int) fullBackups!: number;
  @Field(() => Int) incrementalBackups!: number;
  @Field(() => Float) totalStorage!: number;
  @Field(() => Float) compressedStorage!: number;
  @Field(() => Float) uncompressedStorage!: number;
  @Field(() => Float) compressionRatio!: number;
  @Field(() => Date, { nullable: true }) oldestBackup!: Date | null;
  @Field(() => Date, { nullable: true }) newestBackup!: Date | null;
  @Field(() => Float) averageSize!: number;
}

@OutputType('BackupVerification')
export class BackupVerificationType {
  @Field() valid!: boolean;
  @Field() checksumMatch!: boolean;
  @Field(() => [String]) errors!: string[];
  @Field() verifiedAt!: Date;
}

@OutputType('BackupRestore')
export class BackupRestoreType {
  @Field(() => Int) restoredFiles!: number;
  @Field(() => Float) totalSize!: number;
  @Field(() => Int, { description: 'ms' }) duration!: number;
  @Field(() => [String], { description: 'Entries refused or missing; the rest was restored.' }) errors!: string[];
  @Field({ description: 'The directory restored into.' }) target!: string;
}

@InputType()
export class BackupFilter {
  @Field(() => BackupKindEnum, { nullable: true }) type?: BackupType | null;
  @Field(() => BackupRunStatusEnum, { nullable: true }) status?: BackupStatus | null;
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() serviceId?: string | null;
}

@InputType()
export class CreateBackupInput {
  @Field(() => BackupKindEnum) @IsIn(Object.values(BackupKindEnum)) type!: BackupType;
  @Field(() => Int, { nullable: true, description: 'gzip level 0-9 (default 6).' }) @IsOptional() @Min(0) @Max(9) compression?: number | null;
  @Field(() => [String], { nullable: true, description: 'Globs of paths inside a source; a pattern without / matches at any depth.' })
  @IsOptional()
  @ArrayMaxSize(100)
  @MinLength(1, { each: true })
  @MaxLength(500, { each: true })
  exclude?: string[] | null;
  @Field(() => GraphQLJSONObject, { nullable: true }) metadata?: Record<string, unknown> | null;
  @Field(() => ID, { nullable: true, description: 'The service whose backup freshness this run counts for.' }) @IsOptional() @IsUUID() serviceId?: string | null;
}

@InputType()
export class RestoreBackupInput {
  @Field(() => String, { nullable: true, description: 'An absolute directory inside BACKUP_RESTORE_DIR; default: a new one there.' })
  @IsOptional()
  @MinLength(1)
  @MaxLength(4_096)
  target?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: false }) overwrite?: boolean | null;
  @Field(() => Boolean, { nullable: true, defaultValue: true }) verify?: boolean | null;
}

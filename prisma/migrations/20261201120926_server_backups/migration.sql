-- CreateEnum
CREATE TYPE "BackupKind" AS ENUM ('full', 'incremental');

-- CreateEnum
CREATE TYPE "BackupRunStatus" AS ENUM ('pending', 'running', 'completed', 'failed');

-- AlterTable
ALTER TABLE "Service" ADD COLUMN     "lastVerifiedAt" TIMESTAMPTZ(3),
ADD COLUMN     "lastVerifiedBackupAt" TIMESTAMPTZ(3),
ADD COLUMN     "maxVerifiedAgeDays" INTEGER,
ADD COLUMN     "minBackupDurationSeconds" INTEGER,
ADD COLUMN     "minBackupSizeBytes" BIGINT;

-- AlterTable
ALTER TABLE "BackupReport" ADD COLUMN     "durationSeconds" INTEGER;

-- CreateTable
CREATE TABLE "Backup" (
    "id" TEXT NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "type" "BackupKind" NOT NULL,
    "status" "BackupRunStatus" NOT NULL DEFAULT 'pending',
    "compression" INTEGER NOT NULL,
    "exclude" TEXT[],
    "metadata" JSONB,
    "serviceId" UUID,
    "parentId" TEXT,
    "chainId" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "startedAt" TIMESTAMPTZ(3),
    "completedAt" TIMESTAMPTZ(3),
    "fileCount" INTEGER,
    "originalSize" BIGINT,
    "compressedSize" BIGINT,
    "durationMs" INTEGER,
    "location" TEXT,
    "checksum" TEXT,
    "error" TEXT,
    "lastVerifiedAt" TIMESTAMPTZ(3),
    "verificationStatus" TEXT,
    "deletedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Backup_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BackupFile" (
    "backupId" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "mode" INTEGER NOT NULL,
    "mtime" TIMESTAMPTZ(3) NOT NULL,
    "sha256" TEXT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "BackupFile_pkey" PRIMARY KEY ("backupId","path")
);

-- CreateIndex
CREATE UNIQUE INDEX "Backup_seq_key" ON "Backup"("seq");

-- CreateIndex
CREATE INDEX "Backup_status_createdAt_idx" ON "Backup"("status", "createdAt");

-- CreateIndex
CREATE INDEX "Backup_chainId_idx" ON "Backup"("chainId");

-- CreateIndex
CREATE INDEX "Backup_parentId_idx" ON "Backup"("parentId");

-- AddForeignKey
ALTER TABLE "Backup" ADD CONSTRAINT "Backup_serviceId_fkey" FOREIGN KEY ("serviceId") REFERENCES "Service"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Backup" ADD CONSTRAINT "Backup_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Backup"("id") ON DELETE NO ACTION ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BackupFile" ADD CONSTRAINT "BackupFile_backupId_fkey" FOREIGN KEY ("backupId") REFERENCES "Backup"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateEnum
CREATE TYPE "ServiceStatus" AS ENUM ('OPERATIONAL', 'DEGRADED', 'PARTIAL_OUTAGE', 'MAJOR_OUTAGE', 'MAINTENANCE', 'UNKNOWN');

-- CreateEnum
CREATE TYPE "BackupOutcome" AS ENUM ('success', 'failed', 'partial');

-- CreateTable
CREATE TABLE "Node" (
    "id" TEXT NOT NULL,
    "operatorVersion" TEXT,
    "lastHeartbeatAt" TIMESTAMPTZ(3),
    "lastReportAt" TIMESTAMPTZ(3),
    "watchedServices" INTEGER NOT NULL DEFAULT 0,
    "healthyServices" INTEGER NOT NULL DEFAULT 0,
    "unhealthyServices" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Node_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SlaGroup" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "tier" TEXT NOT NULL DEFAULT 'standard',
    "targetUptime" DECIMAL(7,4),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SlaGroup_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Service" (
    "id" UUID NOT NULL,
    "nodeId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "namespace" TEXT,
    "displayName" TEXT,
    "workloadType" TEXT,
    "criticality" TEXT,
    "replicas" INTEGER,
    "readyReplicas" INTEGER,
    "slaGroupId" UUID,
    "status" "ServiceStatus" NOT NULL DEFAULT 'UNKNOWN',
    "reportedStatus" "ServiceStatus",
    "lastSeenAt" TIMESTAMPTZ(3),
    "backupExpected" BOOLEAN NOT NULL DEFAULT false,
    "backupMaxAgeDays" INTEGER NOT NULL DEFAULT 1,
    "lastBackupAt" TIMESTAMPTZ(3),
    "lastBackupStatus" "BackupOutcome",
    "lastSuccessfulBackupAt" TIMESTAMPTZ(3),
    "backupOverdue" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Service_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StatusChange" (
    "serviceId" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "status" "ServiceStatus" NOT NULL,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StatusChange_pkey" PRIMARY KEY ("serviceId","at")
);

-- CreateTable
CREATE TABLE "StatusObservation" (
    "serviceId" UUID NOT NULL,
    "observedAt" TIMESTAMPTZ(3) NOT NULL,
    "status" "ServiceStatus" NOT NULL,

    CONSTRAINT "StatusObservation_pkey" PRIMARY KEY ("serviceId","observedAt")
);

-- CreateTable
CREATE TABLE "BackupReport" (
    "id" UUID NOT NULL,
    "serviceId" UUID NOT NULL,
    "status" "BackupOutcome" NOT NULL,
    "sizeBytes" BIGINT,
    "message" TEXT,
    "completedAt" TIMESTAMPTZ(3) NOT NULL,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "reportId" TEXT,

    CONSTRAINT "BackupReport_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "SlaGroup_name_key" ON "SlaGroup"("name");

-- CreateIndex
CREATE INDEX "Service_slaGroupId_idx" ON "Service"("slaGroupId");

-- CreateIndex
CREATE INDEX "Service_namespace_idx" ON "Service"("namespace");

-- CreateIndex
CREATE INDEX "Service_lastSeenAt_idx" ON "Service"("lastSeenAt");

-- CreateIndex
CREATE UNIQUE INDEX "Service_nodeId_name_key" ON "Service"("nodeId", "name");

-- CreateIndex
CREATE INDEX "StatusChange_at_idx" ON "StatusChange"("at");

-- CreateIndex
CREATE INDEX "StatusObservation_observedAt_idx" ON "StatusObservation"("observedAt");

-- CreateIndex
CREATE INDEX "BackupReport_serviceId_completedAt_idx" ON "BackupReport"("serviceId", "completedAt");

-- CreateIndex
CREATE UNIQUE INDEX "BackupReport_reportId_serviceId_key" ON "BackupReport"("reportId", "serviceId");

-- AddForeignKey
ALTER TABLE "Service" ADD CONSTRAINT "Service_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Service" ADD CONSTRAINT "Service_slaGroupId_fkey" FOREIGN KEY ("slaGroupId") REFERENCES "SlaGroup"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StatusChange" ADD CONSTRAINT "StatusChange_serviceId_fkey" FOREIGN KEY ("serviceId") REFERENCES "Service"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StatusObservation" ADD CONSTRAINT "StatusObservation_serviceId_fkey" FOREIGN KEY ("serviceId") REFERENCES "Service"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BackupReport" ADD CONSTRAINT "BackupReport_serviceId_fkey" FOREIGN KEY ("serviceId") REFERENCES "Service"("id") ON DELETE CASCADE ON UPDATE CASCADE;

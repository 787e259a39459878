-- CreateEnum
CREATE TYPE "AlertState" AS ENUM ('PENDING', 'FIRING', 'RESOLVED');

-- CreateEnum
CREATE TYPE "AlertSource" AS ENUM ('RULE', 'MANUAL', 'SLA', 'BACKUP', 'HEALTH', 'NODE');

-- CreateEnum
CREATE TYPE "NoticeStatus" AS ENUM ('QUEUED', 'SENDING', 'SENT', 'FAILED', 'SILENCED', 'SUPPRESSED', 'DEDUPLICATED');

-- CreateEnum
CREATE TYPE "NotificationStatus" AS ENUM ('PENDING', 'DELIVERED', 'FAILED');

-- CreateTable
CREATE TABLE "AlertRule" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "metric" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "operator" TEXT NOT NULL,
    "threshold" DOUBLE PRECISION NOT NULL,
    "duration" INTEGER NOT NULL DEFAULT 0,
    "recoveryThreshold" DOUBLE PRECISION,
    "keepFiringFor" INTEGER NOT NULL DEFAULT 0,
    "severity" TEXT NOT NULL,
    "channels" TEXT[],
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "noData" BOOLEAN NOT NULL DEFAULT true,
    "silencedAt" TIMESTAMPTZ(3),
    "silencedUntil" TIMESTAMPTZ(3),
    "silenceReason" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "AlertRule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Alert" (
    "id" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "source" "AlertSource" NOT NULL,
    "ruleId" TEXT,
    "evaluated" BOOLEAN NOT NULL DEFAULT false,
    "state" "AlertState" NOT NULL,
    "severity" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "value" DOUBLE PRECISION,
    "threshold" DOUBLE PRECISION,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "activeAt" TIMESTAMPTZ(3) NOT NULL,
    "firedAt" TIMESTAMPTZ(3),
    "resolvedAt" TIMESTAMPTZ(3),
    "lastTrueAt" TIMESTAMPTZ(3),
    "acknowledgedAt" TIMESTAMPTZ(3),
    "acknowledgedBy" TEXT,
    "acknowledgeNote" TEXT,
    "resolvedBy" TEXT,
    "resolutionNotes" TEXT,
    "suppressedBy" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Alert_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AlertTransition" (
    "id" BIGSERIAL NOT NULL,
    "alertId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "fromState" "AlertState",
    "toState" "AlertState" NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "value" DOUBLE PRECISION,
    "actor" TEXT,
    "note" TEXT,

    CONSTRAINT "AlertTransition_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationChannel" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "config" JSONB NOT NULL DEFAULT '{}',
    "secret" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "NotificationChannel_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AlertNotice" (
    "id" BIGSERIAL NOT NULL,
    "alertId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "channelId" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "status" "NoticeStatus" NOT NULL,
    "notificationId" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AlertNotice_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Notification" (
    "id" UUID NOT NULL,
    "channelId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "groupKey" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "status" "NotificationStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMPTZ(3),

    CONSTRAINT "Notification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationAttempt" (
    "id" BIGSERIAL NOT NULL,
    "notificationId" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "responseCode" INTEGER,
    "error" TEXT,
    "durationMs" INTEGER NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "NotificationAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "AlertRule_name_key" ON "AlertRule"("name");

-- CreateIndex
CREATE INDEX "AlertRule_metric_idx" ON "AlertRule"("metric");

-- CreateIndex
CREATE INDEX "Alert_state_source_idx" ON "Alert"("state", "source");

-- CreateIndex
CREATE INDEX "Alert_ruleId_state_idx" ON "Alert"("ruleId", "state");

-- CreateIndex
CREATE INDEX "Alert_fingerprint_idx" ON "Alert"("fingerprint");

-- CreateIndex
CREATE INDEX "Alert_createdAt_idx" ON "Alert"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "AlertTransition_alertId_seq_key" ON "AlertTransition"("alertId", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "NotificationChannel_name_key" ON "NotificationChannel"("name");

-- CreateIndex
CREATE INDEX "AlertNotice_channelId_status_idx" ON "AlertNotice"("channelId", "status");

-- CreateIndex
CREATE INDEX "AlertNotice_fingerprint_channelId_kind_createdAt_idx" ON "AlertNotice"("fingerprint", "channelId", "kind", "createdAt");

-- CreateIndex
CREATE INDEX "AlertNotice_notificationId_idx" ON "AlertNotice"("notificationId");

-- CreateIndex
CREATE UNIQUE INDEX "AlertNotice_alertId_seq_channelId_key" ON "AlertNotice"("alertId", "seq", "channelId");

-- CreateIndex
CREATE INDEX "Notification_status_createdAt_idx" ON "Notification"("status", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "NotificationAttempt_notificationId_attempt_key" ON "NotificationAttempt"("notificationId", "attempt");

-- AddForeignKey
ALTER TABLE "Alert" ADD CONSTRAINT "Alert_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "AlertRule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AlertTransition" ADD CONSTRAINT "AlertTransition_alertId_fkey" FOREIGN KEY ("alertId") REFERENCES "Alert"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AlertNotice" ADD CONSTRAINT "AlertNotice_alertId_fkey" FOREIGN KEY ("alertId") REFERENCES "Alert"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NotificationAttempt" ADD CONSTRAINT "NotificationAttempt_notificationId_fkey" FOREIGN KEY ("notificationId") REFERENCES "Notification"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- At most one open alert per fingerprint: concurrent evaluators insert it once (ON CONFLICT DO NOTHING).
CREATE UNIQUE INDEX "Alert_open_fingerprint_key" ON "Alert"("fingerprint") WHERE "state" <> 'RESOLVED';

-- The channels every deployment has.
INSERT INTO "NotificationChannel" (id, name, type, enabled, config, "createdAt", "updatedAt") VALUES
  ('console', 'console', 'console', true, '{}', now(), now()),
  ('file', 'file', 'file', true, '{}', now(), now());

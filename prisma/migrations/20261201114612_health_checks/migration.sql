-- CreateEnum
CREATE TYPE "HealthStatus" AS ENUM ('healthy', 'degraded', 'unhealthy');

-- CreateEnum
CREATE TYPE "HealthTrigger" AS ENUM ('schedule', 'manual');

-- CreateTable
CREATE TABLE "HealthCheck" (
    "id" UUID NOT NULL,
    "runId" UUID NOT NULL,
    "system" TEXT NOT NULL,
    "status" "HealthStatus" NOT NULL,
    "message" TEXT NOT NULL,
    "metrics" JSONB NOT NULL,
    "durationMs" INTEGER NOT NULL,
    "trigger" "HealthTrigger" NOT NULL,
    "instanceId" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "HealthCheck_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "HealthState" (
    "system" TEXT NOT NULL,
    "status" "HealthStatus" NOT NULL,
    "message" TEXT NOT NULL,
    "checkId" UUID NOT NULL,
    "checkedAt" TIMESTAMPTZ(3) NOT NULL,
    "since" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "HealthState_pkey" PRIMARY KEY ("system")
);

-- CreateIndex
CREATE INDEX "HealthCheck_at_idx" ON "HealthCheck"("at");

-- CreateIndex
CREATE INDEX "HealthCheck_system_at_idx" ON "HealthCheck"("system", "at");

-- CreateIndex
CREATE INDEX "HealthCheck_status_at_idx" ON "HealthCheck"("status", "at");

-- CreateTable
CREATE TABLE "RunbookRun" (
    "id" UUID NOT NULL,
    "requestId" TEXT NOT NULL,
    "command" TEXT NOT NULL,
    "dryRun" BOOLEAN NOT NULL DEFAULT false,
    "fields" JSONB NOT NULL,
    "status" TEXT NOT NULL,
    "exitCode" INTEGER,
    "logs" JSONB NOT NULL DEFAULT '[]',
    "detail" TEXT,
    "health" JSONB,
    "actor" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),
    "durationMs" INTEGER,

    CONSTRAINT "RunbookRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OpsConsoleState" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "environmentMode" TEXT NOT NULL DEFAULT 'live',
    "activeProfile" TEXT NOT NULL DEFAULT 'primary',
    "activeWindow" TEXT NOT NULL DEFAULT 'day',
    "lastExitCodes" JSONB NOT NULL DEFAULT '{}',
    "lastRunId" UUID,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "OpsConsoleState_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "RunbookRun_requestId_key" ON "RunbookRun"("requestId");

-- CreateIndex
CREATE INDEX "RunbookRun_createdAt_idx" ON "RunbookRun"("createdAt");

-- CreateIndex
CREATE INDEX "RunbookRun_command_createdAt_idx" ON "RunbookRun"("command", "createdAt");

-- One console state per deployment.
ALTER TABLE "OpsConsoleState" ADD CONSTRAINT "OpsConsoleState_single_row" CHECK ("id" = 1);

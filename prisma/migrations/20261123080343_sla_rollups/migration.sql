-- CreateTable
CREATE TABLE "SlaRollup" (
    "subjectId" UUID NOT NULL,
    "day" TIMESTAMPTZ(3) NOT NULL,
    "upMs" BIGINT NOT NULL,
    "downMs" BIGINT NOT NULL,
    "incidents" INTEGER NOT NULL,
    "cumUpMs" BIGINT NOT NULL,
    "cumDownMs" BIGINT NOT NULL,
    "cumIncidents" INTEGER NOT NULL,

    CONSTRAINT "SlaRollup_pkey" PRIMARY KEY ("subjectId","day")
);

-- CreateTable
CREATE TABLE "SlaRollupState" (
    "subjectId" UUID NOT NULL,
    "scope" TEXT NOT NULL,
    "validUntil" TIMESTAMPTZ(3) NOT NULL,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "membersHash" TEXT,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SlaRollupState_pkey" PRIMARY KEY ("subjectId")
);

-- CreateIndex
CREATE INDEX "SlaRollupState_validUntil_idx" ON "SlaRollupState"("validUntil");

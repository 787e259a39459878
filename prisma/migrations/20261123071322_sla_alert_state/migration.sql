-- CreateTable
CREATE TABLE "SlaAlertState" (
    "scope" TEXT NOT NULL,
    "subjectId" UUID NOT NULL,
    "period" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SlaAlertState_pkey" PRIMARY KEY ("scope","subjectId","period")
);

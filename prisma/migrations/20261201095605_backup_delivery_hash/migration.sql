-- AlterTable
ALTER TABLE "BackupReport" ADD COLUMN     "deliveryHash" TEXT;

-- CreateIndex
CREATE INDEX "BackupReport_deliveryHash_receivedAt_idx" ON "BackupReport"("deliveryHash", "receivedAt");

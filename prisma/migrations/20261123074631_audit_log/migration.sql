-- CreateEnum
CREATE TYPE "AuditActorType" AS ENUM ('USER', 'API_KEY', 'SYSTEM');

-- CreateTable
CREATE TABLE "AuditEntry" (
    "id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "actorType" "AuditActorType" NOT NULL,
    "actorId" TEXT,
    "action" TEXT NOT NULL,
    "resourceType" TEXT NOT NULL,
    "resourceId" TEXT,
    "before" JSONB,
    "after" JSONB,
    "ip" TEXT,
    "requestId" TEXT,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "AuditEntry_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "AuditEntry_seq_key" ON "AuditEntry"("seq");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEntry_prevHash_key" ON "AuditEntry"("prevHash");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEntry_hash_key" ON "AuditEntry"("hash");

-- CreateIndex
CREATE INDEX "AuditEntry_at_idx" ON "AuditEntry"("at");

-- CreateIndex
CREATE INDEX "AuditEntry_actorId_seq_idx" ON "AuditEntry"("actorId", "seq");

-- CreateIndex
CREATE INDEX "AuditEntry_action_seq_idx" ON "AuditEntry"("action", "seq");

-- CreateIndex
CREATE INDEX "AuditEntry_resourceType_resourceId_seq_idx" ON "AuditEntry"("resourceType", "resourceId", "seq");

-- Entries are never updated in place. The application has no update path, and this refuses one
-- made by hand. Deleting stays possible (retention prunes the oldest entries). The table owner can
-- still disable the trigger, and the hash chain is what makes such a change visible.
-- Prisma's pg adapter splits migration scripts at every semicolon, so the function body spells
-- its one semicolon as the escape \073 and comments here avoid the character.
CREATE FUNCTION "audit_entry_immutable"() RETURNS trigger LANGUAGE plpgsql AS
  E'BEGIN RAISE EXCEPTION ''audit entries are never updated (entry %)'', OLD.id USING ERRCODE = ''restrict_violation''\073 END';

CREATE TRIGGER "AuditEntry_no_update" BEFORE UPDATE ON "AuditEntry"
  FOR EACH ROW EXECUTE FUNCTION "audit_entry_immutable"();

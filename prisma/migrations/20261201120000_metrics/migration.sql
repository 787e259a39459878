-- CreateTable
CREATE TABLE "MetricDefinition" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "type" VARCHAR(16) NOT NULL,
    "unit" VARCHAR(32),
    "description" VARCHAR(500),
    "collector" VARCHAR(32) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MetricDefinition_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MetricSeries" (
    "id" BIGSERIAL NOT NULL,
    "metricId" INTEGER NOT NULL,
    "labels" JSONB NOT NULL,
    "labelsHash" CHAR(64) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MetricSeries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MetricCollector" (
    "name" VARCHAR(32) NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "intervalSeconds" INTEGER NOT NULL DEFAULT 10,
    "collectionCount" BIGINT NOT NULL DEFAULT 0,
    "errorCount" BIGINT NOT NULL DEFAULT 0,
    "lastCollection" TIMESTAMPTZ(3),
    "lastError" TEXT,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MetricCollector_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "MetricEvent" (
    "id" UUID NOT NULL,
    "type" VARCHAR(100) NOT NULL,
    "data" JSONB NOT NULL,
    "recordedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "MetricEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "MetricDefinition_name_key" ON "MetricDefinition"("name");

-- CreateIndex
CREATE INDEX "MetricDefinition_collector_idx" ON "MetricDefinition"("collector");

-- CreateIndex
CREATE UNIQUE INDEX "MetricSeries_metricId_labelsHash_key" ON "MetricSeries"("metricId", "labelsHash");

-- CreateIndex
CREATE INDEX "MetricEvent_type_recordedAt_idx" ON "MetricEvent"("type", "recordedAt");

-- CreateIndex
CREATE INDEX "MetricEvent_recordedAt_idx" ON "MetricEvent"("recordedAt");

-- AddForeignKey
ALTER TABLE "MetricSeries" ADD CONSTRAINT "MetricSeries_metricId_fkey" FOREIGN KEY ("metricId") REFERENCES "MetricDefinition"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Samples and rollup tiers: natively partitioned by time, created here by hand because Prisma does not
-- model partitioned tables. Partitions are made ahead by the metrics.partitions job (and on demand for a
-- late or early sample), and retention drops whole partitions. There is no DEFAULT partition on purpose:
-- a row without a partition fails loudly instead of piling up where retention cannot drop it.

-- Raw samples, one partition per UTC day. batch_id ties each row to the ingest batch that wrote it, so the
-- rollup job reads exactly what arrived since its last run. A b-tree, not BRIN: a BRIN range is only
-- summarized by a later vacuum, and the newest rows, the ones the rollup wants, would be scanned whole.
-- Batch ids grow, so its inserts all land on the rightmost page.
CREATE SEQUENCE "metric_batch_seq";

CREATE TABLE "metric_samples" (
    "series_id" BIGINT NOT NULL,
    "ts" TIMESTAMPTZ(3) NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "batch_id" BIGINT NOT NULL
) PARTITION BY RANGE ("ts");
CREATE INDEX "metric_samples_series_ts_idx" ON "metric_samples" ("series_id", "ts");
CREATE INDEX "metric_samples_batch_idx" ON "metric_samples" ("batch_id");
-- Recent-sample counts (the collection rate) without touching the (series, ts) index.
CREATE INDEX "metric_samples_ts_idx" ON "metric_samples" USING BRIN ("ts");

-- Committed batches the rollup job has not folded in yet, with the time span of their samples
-- (which partitions to read).
CREATE TABLE "metric_pending_batches" (
    "id" BIGINT PRIMARY KEY,
    "min_ts" TIMESTAMPTZ(3) NOT NULL,
    "max_ts" TIMESTAMPTZ(3) NOT NULL,
    "samples" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now()
);

-- Rollup tiers: per series and bucket, count, sum, min, max and a DDSketch (1 % relative accuracy,
-- protobuf bytes, both value stores). 1m by ISO week, 5m and 1h by calendar month.
CREATE TABLE "metric_rollup_1m" (
    "series_id" BIGINT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "count" BIGINT NOT NULL,
    "sum" DOUBLE PRECISION NOT NULL,
    "min" DOUBLE PRECISION NOT NULL,
    "max" DOUBLE PRECISION NOT NULL,
    "sketch" BYTEA NOT NULL,
    PRIMARY KEY ("series_id", "bucket")
) PARTITION BY RANGE ("bucket");

-- LIKE ... INCLUDING ALL brings the primary key along.
CREATE TABLE "metric_rollup_5m" (LIKE "metric_rollup_1m" INCLUDING ALL) PARTITION BY RANGE ("bucket");
CREATE TABLE "metric_rollup_1h" (LIKE "metric_rollup_1m" INCLUDING ALL) PARTITION BY RANGE ("bucket");

-- Pending rollup work as partial 1m buckets written by the ingest transaction (count, sum, min,
-- max and the DDSketch of the samples of one series in one minute of one batch), instead of a list of
-- batches whose raw samples the rollup job read back. The job merges these rows into the tiers and
-- deletes them. Raw samples are no longer read by batch, so their batch index goes.

-- Batches still pending when this runs are not folded into the tiers (their raw samples stay and
-- answer raw queries): stop pushes and let the rollup job empty metric_pending_batches first.
DROP TABLE "metric_pending_batches";
DROP INDEX "metric_samples_batch_idx";

-- Not partitioned and usually near empty: rows live from an ingest commit to the next rollup pass.
-- The id orders passes oldest first.
CREATE TABLE "metric_pending_partials" (
    "id" BIGSERIAL PRIMARY KEY,
    "series_id" BIGINT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "count" BIGINT NOT NULL,
    "sum" DOUBLE PRECISION NOT NULL,
    "min" DOUBLE PRECISION NOT NULL,
    "max" DOUBLE PRECISION NOT NULL,
    "sketch" BYTEA NOT NULL
);

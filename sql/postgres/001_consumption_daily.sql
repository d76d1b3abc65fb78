-- PORTAL.ConsumptionDaily on PostgreSQL (12+): the utility's daily meter readings.
-- Unquoted names fold to lower case: the table is portal.consumptiondaily and the
-- same text PORTAL.ConsumptionDaily works in every query. Idempotent.
-- RowId: ever-increasing ingestion id (bigserial), the incremental-extract watermark.
-- No unique key on (AccountOID, ConsumptionDate): re-sent readings are new rows; latest RowId wins downstream.
CREATE SCHEMA IF NOT EXISTS PORTAL;
CREATE TABLE IF NOT EXISTS PORTAL.ConsumptionDaily (
    RowId           bigserial        PRIMARY KEY,
    AccountOID      bigint           NOT NULL,
    ConsumptionDate date             NOT NULL,
    Consumption     double precision NULL,
    LoadedAt        timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_consumptiondaily_account_date
    ON PORTAL.ConsumptionDaily (AccountOID, ConsumptionDate);

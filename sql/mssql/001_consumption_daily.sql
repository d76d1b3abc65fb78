-- PORTAL.ConsumptionDaily on Microsoft SQL Server (2016+): the utility's daily meter readings.
-- Idempotent: safe to run again. Statements end with ';' at the end of a line, batches with GO.
-- RowId: ever-increasing ingestion id (IDENTITY), the incremental-extract watermark.
-- No unique key on (AccountOID, ConsumptionDate): re-sent readings are new rows; latest RowId wins downstream.
IF SCHEMA_ID(N'PORTAL') IS NULL EXEC(N'CREATE SCHEMA PORTAL');
GO
IF OBJECT_ID(N'PORTAL.ConsumptionDaily', N'U') IS NULL
CREATE TABLE PORTAL.ConsumptionDaily (
    RowId           BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT PK_PORTAL_ConsumptionDaily PRIMARY KEY CLUSTERED,
    AccountOID      BIGINT       NOT NULL,
    ConsumptionDate DATE         NOT NULL,
    Consumption     FLOAT        NULL,
    LoadedAt        DATETIME2(3) NOT NULL CONSTRAINT DF_PORTAL_ConsumptionDaily_LoadedAt DEFAULT SYSUTCDATETIME()
);
GO
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_PORTAL_ConsumptionDaily_Account_Date'
               AND object_id = OBJECT_ID(N'PORTAL.ConsumptionDaily'))
CREATE INDEX IX_PORTAL_ConsumptionDaily_Account_Date
    ON PORTAL.ConsumptionDaily (AccountOID, ConsumptionDate) INCLUDE (Consumption);
GO

-- PORTAL.ConsumptionDaily on SQLite (3.35+): the utility's daily meter readings.
-- SQLite has no schemas: the logical name PORTAL.ConsumptionDaily maps to the
-- table PORTAL_ConsumptionDaily (sql/README.md; lib/odbc.c does the mapping). Idempotent.
-- RowId: INTEGER PRIMARY KEY AUTOINCREMENT is the rowid, ever increasing (never reused,
-- even after deletes) and indexed by construction.
-- ConsumptionDate is ISO text 'YYYY-MM-DD' (what the ODBC driver writes for SQL_TYPE_DATE).
-- No unique key on (AccountOID, ConsumptionDate): re-sent readings are new rows; latest RowId wins downstream.
CREATE TABLE IF NOT EXISTS PORTAL_ConsumptionDaily (
    RowId           INTEGER PRIMARY KEY AUTOINCREMENT,
    AccountOID      INTEGER NOT NULL,
    ConsumptionDate DATE    NOT NULL,
    Consumption     REAL    NULL,
    LoadedAt        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE INDEX IF NOT EXISTS PORTAL_ConsumptionDaily_Account_Date
    ON PORTAL_ConsumptionDaily (AccountOID, ConsumptionDate);

-- A state store written by syncfw at schema version 5 (before the
-- Notion read watermark had its own table), dumped with sqlite3's iterdump.
BEGIN TRANSACTION;
CREATE TABLE alerts (
        event TEXT NOT NULL,
        subject TEXT NOT NULL,
        state TEXT NOT NULL,
        since TEXT NOT NULL,
        PRIMARY KEY (event, subject)
    );
INSERT INTO "alerts" VALUES('run_failed','customer-360','firing','2026-01-01T00:00:05Z');
CREATE TABLE cursors (
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        stream TEXT NOT NULL,
        cursor TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (target, source, stream)
    );
INSERT INTO "cursors" VALUES('accounts','salesforce','Account','{"ts": 1}','2026-01-01T00:00:00Z');
CREATE TABLE journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        target TEXT NOT NULL,
        action TEXT NOT NULL,
        sync_key TEXT NOT NULL,
        page_id TEXT,
        before TEXT NOT NULL,
        after TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        settled_at TEXT
    );
INSERT INTO "journal" VALUES(1,'20260101T000000Z-a1b2','accounts','create','001C',NULL,'{}','{"Name":"Open"}','open','2026-01-01T00:00:01Z',NULL);
INSERT INTO "journal" VALUES(2,'20260101T000000Z-a1b2','accounts','update','001A','page-1','{"Name":"Old"}','{"Name":"Edge"}','applied','2026-01-01T00:00:02Z','2026-01-01T00:00:03Z');
CREATE TABLE matches (
        target TEXT NOT NULL,
        mapping TEXT NOT NULL,
        record_key TEXT NOT NULL,
        page_key TEXT NOT NULL,
        PRIMARY KEY (target, mapping, record_key)
    );
INSERT INTO "matches" VALUES('accounts','zendesk-orgs','org-1','001A');
CREATE TABLE members (
        target TEXT NOT NULL,
        mapping TEXT NOT NULL,
        record_key TEXT NOT NULL,
        page_key TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (target, mapping, record_key)
    );
INSERT INTO "members" VALUES('accounts','tickets','t-1','001A','{"Open":1}');
CREATE TABLE pages (
        target TEXT NOT NULL,
        sync_key TEXT NOT NULL,
        page_id TEXT NOT NULL,
        created_by_syncfw INTEGER NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (target, sync_key)
    );
INSERT INTO "pages" VALUES('accounts','001A','page-1',1,0);
INSERT INTO "pages" VALUES('accounts','001B','page-2',0,1);
CREATE TABLE quarantine (
        target TEXT NOT NULL,
        mapping TEXT NOT NULL,
        record_key TEXT NOT NULL,
        source TEXT NOT NULL,
        stream TEXT NOT NULL,
        property TEXT,
        reason TEXT NOT NULL,
        data TEXT NOT NULL,
        deleted INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        PRIMARY KEY (target, mapping, record_key)
    );
INSERT INTO "quarantine" VALUES('accounts','salesforce-accounts','001Q','salesforce','Account','Revenue','not a number','{"Id": "001Q", "Revenue": "lots"}',0,'2026-01-01T00:00:00Z','2026-01-01T00:00:00Z',1);
CREATE TABLE relation_keys (
        target TEXT NOT NULL,
        sync_key TEXT NOT NULL,
        property TEXT NOT NULL,
        keys TEXT NOT NULL,
        PRIMARY KEY (target, sync_key, property)
    );
INSERT INTO "relation_keys" VALUES('accounts','001A','Contacts','["003A", "003B"]');
CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        recipe TEXT NOT NULL,
        command TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        exit_code INTEGER,
        summary TEXT,
        error TEXT
    );
INSERT INTO "runs" VALUES('20260101T000000Z-a1b2','customer-360','run','2026-01-01T00:00:00Z','2026-01-01T00:00:06Z','partial',3,'{"targets": {"accounts": {"created": 1}}}',NULL);
CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
INSERT INTO "settings" VALUES('notion_read:accounts','{"at": "2026-01-01T00:00:00.123456+00:00", "since_full": 3}');
INSERT INTO "settings" VALUES('reconcile:accounts','{"at": "2026-01-01T00:00:00+00:00", "since": 2}');
INSERT INTO "settings" VALUES('dashboard','on');
CREATE TABLE source_reads (
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        stream TEXT NOT NULL,
        last_attempt TEXT NOT NULL,
        last_success TEXT,
        last_error TEXT,
        PRIMARY KEY (target, source, stream)
    );
INSERT INTO "source_reads" VALUES('accounts','salesforce','Account','2026-01-01T00:00:00Z','2026-01-01T00:00:04Z',NULL);
CREATE TABLE targets (
        target TEXT PRIMARY KEY,
        database_id TEXT,
        data_source_id TEXT NOT NULL
    );
INSERT INTO "targets" VALUES('accounts','db-1','ds-1');
CREATE TABLE unmatched (
        target TEXT NOT NULL,
        mapping TEXT NOT NULL,
        record_key TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (target, mapping, record_key)
    );
INSERT INTO "unmatched" VALUES('accounts','zendesk-orgs','org-2','{"domain": "nowhere.example"}');
CREATE TABLE written (
        target TEXT NOT NULL,
        sync_key TEXT NOT NULL,
        property TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (target, sync_key, property)
    );
INSERT INTO "written" VALUES('accounts','001A','Name','"Edge"');
INSERT INTO "written" VALUES('accounts','001A','Tags','["a","b"]');
INSERT INTO "written" VALUES('accounts','001A','Revenue','1.5');
INSERT INTO "written" VALUES('accounts','001A','Empty','null');
INSERT INTO "written" VALUES('accounts','001A','Description','"Maker of digital audio converters"');
INSERT INTO "written" VALUES('accounts','001Z','Name','"No page"');
CREATE INDEX pages_by_id ON pages (page_id);
CREATE INDEX members_by_page ON members (target, mapping, page_key);
CREATE INDEX journal_by_run ON journal (run_id);
CREATE INDEX journal_open ON journal (status);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('journal',2);
COMMIT;
PRAGMA user_version = 5;

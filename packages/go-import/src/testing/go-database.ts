import type { Database } from 'sql.js';
import { loadSqlJs } from '../sqlite';

/**
 * Go bot databases for tests, made here with sql.js from the Go bot's own migrations
 * (RenterRus/dwld-bot migration/*.sql, goose): the latest schema, and the mid-2025 one that had
 * no userName column, no to_delete table and no goose table.
 */
export type GoSchema = 'latest' | 'mid-2025';

export interface GoLinkRow {
  link: string | null;
  quality?: number | string | null;
  /** Unix seconds as text, as the Go bot wrote them. */
  sendingAt?: string | null;
  userID?: string | null;
  /** Latest schema only: "[<telegram username>] <folder>". */
  userName?: string | null;
  messageID?: string | null;
  errorMsg?: string | null;
}

export interface GoDownloaderRow {
  name: string | null;
  allowedRootLinks?: string | null;
  host?: string | null;
  port?: number | string | null;
}

export interface GoDeletionRow {
  chatID: string | null;
  messageID: string | null;
  deleteAt: string | null;
}

export interface GoContent {
  links?: GoLinkRow[];
  downloaders?: GoDownloaderRow[];
  /** Latest schema only. */
  toDelete?: GoDeletionRow[];
  /** Anything more, run on the database before it is exported (extra tables, columns). */
  extra?: string;
}

const LINKS_LATEST = `create table if not exists links (
link text unique,
quality integer,
sendingAt text,
userID text,
userName text,
messageID text,
errorMsg text
);`;
const LINKS_MID_2025 = `create table if not exists links (
link text unique,
quality integer,
sendingAt text,
userID text,
messageID text,
errorMsg text
);`;
const DOWNLOADERS = `create table if not exists downloaders (
name text unique,
allowedRootLinks text,
host text,
port integer
);`;
const TO_DELETE = `create table if not exists to_delete (
chatID text,
messageID text,
deleteAt text
);`;
// As goose creates its table in SQLite, with the versions of the Go bot's three migrations.
const GOOSE = `CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')));
INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1), (20250709015600, 1), (20250709015601, 1), (20250720105324, 1);`;

/** An SQLite file (its bytes) with the Go bot's schema of that time and these rows. */
export async function goDatabase(schema: GoSchema, content: GoContent = {}): Promise<Uint8Array> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  try {
    db.run(schema === 'latest' ? `${GOOSE}\n${LINKS_LATEST}\n${DOWNLOADERS}\n${TO_DELETE}` : `${LINKS_MID_2025}\n${DOWNLOADERS}`);
    for (const row of content.links ?? []) {
      if (schema === 'latest') {
        db.run('insert into links(link, quality, sendingAt, userID, messageID, errorMsg, userName) values (?, ?, ?, ?, ?, ?, ?)', [
          row.link, row.quality ?? null, row.sendingAt ?? null, row.userID ?? null, row.messageID ?? null, row.errorMsg ?? null, row.userName ?? null,
        ]);
      } else {
        db.run('insert into links(link, quality, sendingAt, userID, messageID, errorMsg) values (?, ?, ?, ?, ?, ?)', [
          row.link, row.quality ?? null, row.sendingAt ?? null, row.userID ?? null, row.messageID ?? null, row.errorMsg ?? null,
        ]);
      }
    }
    for (const row of content.downloaders ?? []) {
      db.run('insert into downloaders(name, allowedRootLinks, host, port) values (?, ?, ?, ?)', [row.name, row.allowedRootLinks ?? null, row.host ?? null, row.port ?? null]);
    }
    if (schema === 'latest') {
      for (const row of content.toDelete ?? []) db.run('insert into to_delete(chatID, messageID, deleteAt) values (?, ?, ?)', [row.chatID, row.messageID, row.deleteAt]);
    }
    if (content.extra) db.run(content.extra);
    return db.export();
  } finally {
    db.close();
  }
}

/** Any SQLite file (its bytes) made by running `sql`. */
export async function sqliteFile(sql: string): Promise<Uint8Array> {
  const SQL = await loadSqlJs();
  const db: Database = new SQL.Database();
  try {
    if (sql) db.run(sql);
    return db.export();
  } finally {
    db.close();
  }
}

/** Unix seconds as the Go bot wrote them (text). */
export function unixText(date: Date): string {
  return String(Math.floor(date.getTime() / 1000));
}

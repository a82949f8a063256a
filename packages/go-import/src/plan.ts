import { isIP } from 'node:net';
import type { Database as SqliteDatabase, SqlValue } from 'sql.js';
import type { NewLinkFields } from '@dwld/db';
import { deleteJobId } from '@dwld/events';
import { describePatternNotes, formatDestination, isHostname, isQuality, normaliseRootLinks, validateLink, type LinkPolicy, type LinkRejection } from '@dwld/domain';
import { errorMessage } from '@dwld/errors';

/**
 * Reading the Go bot's links.db (RenterRus/dwld-bot) into what dwld would store: pure, no I/O
 * beyond the in-memory SQLite database it is given. Every row becomes a record or a reason it is
 * skipped; every table and column the Go bot never had is reported, never guessed at.
 */

/** The Go bot's tables and the columns it wrote (its goose migrations), as SQLite spells them. */
export const GO_TABLES = {
  links: ['link', 'quality', 'sendingAt', 'userID', 'userName', 'messageID', 'errorMsg'],
  downloaders: ['name', 'allowedRootLinks', 'host', 'port'],
  to_delete: ['chatID', 'messageID', 'deleteAt'],
} as const;
type GoTable = keyof typeof GO_TABLES;

/** goose's own record of the migrations it applied: known, not imported. */
const GOOSE_TABLE = 'goose_db_version';
/** The Go bot's own reply format for the destination: "[<telegram username>] <folder>" (FOLDER_FORMAT). */
const GO_DESTINATION = /^\[([^\]]*)\] (.+)$/s;
/** dwld's registry takes names up to this long (services/registry). */
const MAX_NAME_LENGTH = 128;
/** PostgreSQL's int: message ids are stored in one. */
const MAX_INT4 = 2_147_483_647;
const MAX_BIGINT = 9_223_372_036_854_775_807n;
/** The Go bot dialled these as "this machine": dwld dials 127.0.0.1 instead. */
const ANY_ADDRESS = new Set(['', '0.0.0.0', '::', '[::]']);
const SHOWN_LENGTH = 100;
/** The alias rows are read with their rowid under: no Go column is named so. */
const ROWID = '__go_import_rowid__';

export interface PlanOptions {
  /** The moment the import runs: missing send times and past deletions are taken as now. */
  now: Date;
  /** As the gateway checks links (MAX_LINK_LENGTH, ALLOW_PRIVATE_HOSTS). */
  linkPolicy: LinkPolicy;
  /** The quality of a link whose own is missing or not a quality (the gateway's DEFAULT_QUALITY). */
  defaultQuality: string;
}

/** A `links` row as dwld will store it (status queued, no attempts yet). */
export interface PlannedLink extends NewLinkFields {
  /** Where it came from: "links row 3". */
  source: string;
  /** The link as the file had it, cut short for printing. */
  given: string;
  /** The Go bot's reply, redrawn as dwld's card once the gateway starts. */
  replyMessageId: number | null;
  lastError: string | null;
}

/** A `downloaders` row as dwld will store it. */
export interface PlannedDownloader {
  source: string;
  name: string;
  host: string;
  port: number;
  patterns: string[];
}

/** A message the Go bot meant to delete: a delayed job on the gateway's outbox. */
export interface PlannedDeletion {
  source: string;
  chatId: string;
  messageId: number;
  /** Never before the import's `now`. */
  deleteAt: Date;
  jobId: string;
}

export type Section = 'links' | 'downloaders' | 'deletions';

/** A row left out, and why (in a few words). */
export interface Skipped {
  section: Section;
  source: string;
  /** What it was, briefly: the link, the downloader's name, the message. */
  what: string;
  reason: string;
}

/** Something done differently from the file, or found in it, worth telling. */
export interface Note {
  /** What it is about: "links row 3", "downloader nas", "table foo". */
  about: string;
  text: string;
}

export interface ImportPlan {
  /** Which version of the Go bot's schema the file has, in words. */
  variant: string;
  /** The columns of each Go table the file has (absent: no such table). */
  tables: Partial<Record<GoTable, string[]>>;
  links: PlannedLink[];
  downloaders: PlannedDownloader[];
  deletions: PlannedDeletion[];
  skipped: Skipped[];
  notes: Note[];
}

/** The file is SQLite but not the Go bot's links.db, or not SQLite at all. */
export class NotAGoDatabaseError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NotAGoDatabaseError';
  }
}

type Row = Record<string, SqlValue>;

/**
 * What importing this Go database would do. Throws NotAGoDatabaseError when the file is not
 * SQLite, or has neither a `links` table with a `link` column nor a `downloaders` table with a
 * `name` column.
 */
export function planImport(sqlite: SqliteDatabase, options: PlanOptions): ImportPlan {
  let tableNames: string[];
  try {
    tableNames = query(sqlite, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((row) => String(row.name));
  } catch (err) {
    throw new NotAGoDatabaseError(`not an SQLite database (${errorMessage(err)})`);
  }

  const notes: Note[] = [];
  const skipped: Skipped[] = [];
  const tables: Partial<Record<GoTable, string[]>> = {};
  /** The file's own spelling of each known column (SQLite names are case-insensitive). */
  const columnNames: Partial<Record<GoTable, Map<string, string>>> = {};
  /** The file's own spelling of each known table. */
  const tableNamed: Partial<Record<GoTable, string>> = {};
  let gooseVersion: string | null = null;

  for (const name of tableNames) {
    if (/^sqlite_/i.test(name)) continue;
    const known = (Object.keys(GO_TABLES) as GoTable[]).find((table) => table.toLowerCase() === name.toLowerCase());
    if (name.toLowerCase() === GOOSE_TABLE) {
      gooseVersion = readGooseVersion(sqlite, name);
      continue;
    }
    if (known === undefined) {
      notes.push({ about: `table ${name}`, text: 'not known, not imported' });
      continue;
    }
    const columns = query(sqlite, `PRAGMA table_info(${quoteIdent(name)})`).map((row) => String(row.name));
    const spelled = new Map<string, string>();
    for (const column of columns) {
      const expected = GO_TABLES[known].find((c) => c.toLowerCase() === column.toLowerCase());
      if (expected === undefined) notes.push({ about: `${known}.${column}`, text: 'column not known, not imported' });
      else spelled.set(expected, column);
    }
    tables[known] = columns;
    columnNames[known] = spelled;
    tableNamed[known] = name;
  }

  const has = (table: GoTable, column: string) => columnNames[table]?.has(column) ?? false;
  const linksUsable = has('links', 'link');
  const downloadersUsable = has('downloaders', 'name');
  if (!linksUsable && !downloadersUsable) {
    const found = tableNames.filter((n) => !/^sqlite_/i.test(n));
    const what = found.length === 0 ? 'it has no tables' : `its tables are ${found.join(', ')}`;
    throw new NotAGoDatabaseError(`not a Go dwld database: no links table with a link column and no downloaders table with a name column (${what})`);
  }
  for (const table of Object.keys(GO_TABLES) as GoTable[]) {
    const spelled = columnNames[table];
    if (spelled === undefined) continue;
    const missing = GO_TABLES[table].filter((c) => !spelled.has(c) && !(table === 'links' && c === 'userName'));
    if (missing.length > 0) notes.push({ about: `table ${table}`, text: `has no column ${missing.join(', ')}` });
  }
  if (linksUsable && !has('links', 'userName')) {
    notes.push({ about: 'table links', text: 'no userName column (a Go bot from before 20 July 2025, which sent downloaders no name): dwld files these links under the user id' });
  }
  if (columnNames.links !== undefined && !linksUsable) notes.push({ about: 'table links', text: 'no link column: no link imported' });
  if (columnNames.downloaders !== undefined && !downloadersUsable) notes.push({ about: 'table downloaders', text: 'no name column: no downloader imported' });
  const toDeleteUsable = has('to_delete', 'chatID') && has('to_delete', 'messageID');
  if (columnNames.to_delete !== undefined && !toDeleteUsable) notes.push({ about: 'table to_delete', text: 'no chatID or messageID column: no deletion scheduled' });

  const variant = describeVariant(tables, has('links', 'userName'), gooseVersion);
  const rows = (table: GoTable): Array<{ source: string; get: (column: string) => SqlValue | undefined }> => {
    const spelled = columnNames[table]!;
    return readRows(sqlite, tableNamed[table]!).map(({ rowid, row }) => ({
      source: `${table} row ${rowid}`,
      get: (column: string) => {
        const actual = spelled.get(column);
        return actual === undefined ? undefined : row[actual];
      },
    }));
  };

  const links: PlannedLink[] = [];
  if (linksUsable) {
    const seen = new Map<string, string>();
    for (const { source, get } of rows('links')) {
      const outcome = planLink(source, get, has('links', 'userName'), options, notes);
      if ('reason' in outcome) {
        skipped.push({ section: 'links', source, what: outcome.what, reason: outcome.reason });
        continue;
      }
      const key = `${outcome.userId} ${outcome.url}`;
      const first = seen.get(key);
      if (first !== undefined) {
        skipped.push({ section: 'links', source, what: outcome.given, reason: `the same link for the same person as ${first}` });
        continue;
      }
      seen.set(key, source);
      links.push(outcome);
    }
  }

  const downloaders: PlannedDownloader[] = [];
  if (downloadersUsable) {
    const seen = new Map<string, string>();
    for (const { source, get } of rows('downloaders')) {
      const outcome = planDownloader(source, get, notes);
      if ('reason' in outcome) {
        skipped.push({ section: 'downloaders', source, what: outcome.what, reason: outcome.reason });
        continue;
      }
      const first = seen.get(outcome.name);
      if (first !== undefined) {
        skipped.push({ section: 'downloaders', source, what: outcome.name, reason: `the same name as ${first}` });
        continue;
      }
      seen.set(outcome.name, source);
      downloaders.push(outcome);
    }
  }

  const deletions: PlannedDeletion[] = [];
  if (toDeleteUsable) {
    const seen = new Map<string, string>();
    for (const { source, get } of rows('to_delete')) {
      const outcome = planDeletion(source, get, options, notes);
      if ('reason' in outcome) {
        skipped.push({ section: 'deletions', source, what: outcome.what, reason: outcome.reason });
        continue;
      }
      const first = seen.get(outcome.jobId);
      if (first !== undefined) {
        skipped.push({ section: 'deletions', source, what: `message ${outcome.messageId} in chat ${outcome.chatId}`, reason: `the same message as ${first}` });
        continue;
      }
      seen.set(outcome.jobId, source);
      deletions.push(outcome);
    }
  }

  return { variant, tables, links, downloaders, deletions, skipped, notes };
}

type Rejected = { what: string; reason: string };
type Getter = (column: string) => SqlValue | undefined;

function planLink(source: string, get: Getter, hasUserName: boolean, options: PlanOptions, notes: Note[]): PlannedLink | Rejected {
  const raw = text(get('link'));
  const given = shorten(raw ?? '(empty)');
  if (raw === null || raw.trim() === '') return { what: given, reason: 'not a link' };
  const checked = validateLink(raw, options.linkPolicy);
  if (!checked.ok) return { what: given, reason: rejectionReason(checked.reason, options.linkPolicy) };

  const userText = text(get('userID'))?.trim() ?? '';
  if (!isTelegramId(userText, false)) return { what: given, reason: userText === '' ? 'no user id' : `userID ${JSON.stringify(shorten(userText, 30))} is not a Telegram user id` };

  const rawQuality = get('quality');
  const qualityNumber = wholeNumber(rawQuality);
  let quality: string;
  // Held to dwld's one quality rule (a number of 2 to 5 digits, or max), so every stored quality can be sent.
  if (qualityNumber !== null && qualityNumber > 0 && isQuality(String(qualityNumber))) {
    quality = String(qualityNumber);
  } else {
    quality = options.defaultQuality;
    const shown = rawQuality === undefined || rawQuality === null ? 'no quality' : `quality ${JSON.stringify(shorten(text(rawQuality) ?? '', 20))} is not a quality`;
    notes.push({ about: source, text: `${shown}: ${options.defaultQuality} used` });
  }

  const sendingAt = unixSeconds(get('sendingAt'));
  let sendAt: Date;
  if (sendingAt === null) {
    sendAt = options.now;
    const shown = text(get('sendingAt'));
    notes.push({ about: source, text: `${shown === null || shown === '' ? 'no sendingAt' : `sendingAt ${JSON.stringify(shorten(shown, 30))} is not a time`}: sent from now` });
  } else {
    sendAt = sendingAt;
  }

  let username: string | null = null;
  let folder: string | null = null;
  let ownerName: string | null = null;
  if (hasUserName) {
    const destination = parseDestination(text(get('userName')), userText);
    ({ username, folder, ownerName } = destination);
    if (destination.note !== undefined) notes.push({ about: source, text: destination.note });
  }

  const rawMessage = get('messageID');
  const messageId = wholeNumber(rawMessage);
  let replyMessageId: number | null = null;
  if (messageId !== null && messageId >= 1 && messageId <= MAX_INT4) replyMessageId = messageId;
  else if (rawMessage !== undefined && rawMessage !== null && text(rawMessage)?.trim() !== '') {
    notes.push({ about: source, text: `messageID ${JSON.stringify(shorten(text(rawMessage) ?? '', 30))} is not a message id: the Go bot's reply stays as it is` });
  }

  const error = text(get('errorMsg'))?.trim() ?? '';
  return {
    source,
    given,
    url: checked.link.url,
    host: checked.link.host,
    userId: userText,
    chatId: userText,
    username,
    ownerName,
    folder,
    quality,
    replyMessageId,
    sendAt,
    lastError: error === '' ? null : error,
  };
}

interface Destination {
  username: string | null;
  folder: string | null;
  ownerName: string | null;
  note?: string;
}

/**
 * The Go bot's userName, the destination it sent the downloader ("[<telegram username>] <folder>"),
 * as dwld's username and folder, such that formatDestination gives back exactly the same string.
 * Anything else (no username inside the brackets, another shape) is kept whole as the username.
 */
export function parseDestination(userName: string | null, userId: string): Destination {
  if (userName === null || userName.trim() === '') {
    return { username: null, folder: null, ownerName: null, note: `no userName: dwld files it under the user id (${userId}), the Go bot under an empty name` };
  }
  const match = GO_DESTINATION.exec(userName);
  if (match !== null) {
    const [, name = '', folder = ''] = match;
    if (formatDestination({ username: name, userId, folder }) === userName) return { username: name, folder, ownerName: name };
  }
  const whole = { username: userName, folder: null, ownerName: null };
  if (formatDestination({ ...whole, userId }) === userName) return whole;
  return { ...whole, note: `userName ${JSON.stringify(shorten(userName, 60))} is sent trimmed: ${JSON.stringify(shorten(userName.trim(), 60))}` };
}

function planDownloader(source: string, get: Getter, notes: Note[]): PlannedDownloader | Rejected {
  // Trimmed, as the registry trims a registration's name: the downloader is found under it when it registers again.
  const name = (text(get('name')) ?? '').trim();
  const what = name === '' ? '(no name)' : shorten(name, 60);
  if (name === '') return { what, reason: 'no name' };
  if (name.length > MAX_NAME_LENGTH) return { what, reason: `a name longer than ${MAX_NAME_LENGTH} characters (dwld's registry refuses it)` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return { what, reason: "control characters in the name (dwld's registry refuses it)" };

  const allowed = text(get('allowedRootLinks')) ?? '';
  // As the Go bot read it back: split on "," with nothing trimmed.
  const { patterns, notes: patternNotes } = normaliseRootLinks(allowed.split(','));
  if (patterns.length === 0) return { what, reason: `no usable pattern in allowedRootLinks ${JSON.stringify(shorten(allowed, 60))}` };
  if (patternNotes.length > 0) notes.push({ about: `downloader ${what}`, text: `patterns: ${describePatternNotes(patternNotes)}` });

  const rawHost = (text(get('host')) ?? '').trim().toLowerCase();
  let host: string;
  if (ANY_ADDRESS.has(rawHost)) {
    host = '127.0.0.1';
    notes.push({ about: `downloader ${what}`, text: `host ${JSON.stringify(rawHost)} → 127.0.0.1 (the Go bot dialled this machine for it)` });
  } else {
    host = rawHost.replace(/^\[(.*)\]$/, '$1');
    if (!isHostname(host) && isIP(host) === 0) return { what, reason: `host ${JSON.stringify(shorten(rawHost, 60))} is not a host name or an address` };
  }

  const port = wholeNumber(get('port'));
  if (port === null || port < 1 || port > 65_535) return { what, reason: `port ${JSON.stringify(shorten(text(get('port')) ?? '', 20))} is not a port (1-65535)` };
  return { source, name, host, port, patterns };
}

/** How old a message a bot may still delete (Bot API deleteMessage). */
const TELEGRAM_DELETE_WINDOW_MS = 48 * 3600 * 1000;

function planDeletion(source: string, get: Getter, options: PlanOptions, notes: Note[]): PlannedDeletion | Rejected {
  const chatId = text(get('chatID'))?.trim() ?? '';
  const messageId = wholeNumber(get('messageID'));
  const what = `message ${shorten(text(get('messageID')) ?? '?', 20)} in chat ${shorten(chatId || '?', 30)}`;
  if (!isTelegramId(chatId, true)) return { what, reason: 'chatID is not a chat id' };
  if (messageId === null || messageId < 1 || messageId > MAX_INT4) return { what, reason: 'messageID is not a message id' };
  let deleteAt = unixSeconds(get('deleteAt'));
  if (deleteAt === null) notes.push({ about: source, text: 'deleteAt is not a time: deleted now' });
  // The message was sent before it was due to go: Telegram lets a bot delete only messages under 48 hours old.
  if (deleteAt !== null && deleteAt.getTime() < options.now.getTime() - TELEGRAM_DELETE_WINDOW_MS) return { what, reason: 'due more than 48 hours ago: Telegram no longer lets a bot delete it' };
  if (deleteAt === null || deleteAt.getTime() < options.now.getTime()) deleteAt = options.now;
  return { source, chatId, messageId, deleteAt, jobId: deleteJobId(chatId, messageId) };
}

function rejectionReason(reason: LinkRejection, policy: LinkPolicy): string {
  switch (reason) {
    case 'too_long':
      return `longer than ${policy.maxLength} characters (MAX_LINK_LENGTH)`;
    case 'private_host':
      return 'a private or local address (dwld refuses those unless ALLOW_PRIVATE_HOSTS is on)';
    case 'credentials':
      return 'a link with a user name or password in it';
    default:
      return 'not a link';
  }
}

function describeVariant(tables: Partial<Record<GoTable, string[]>>, hasUserName: boolean, gooseVersion: string | null): string {
  const goose = gooseVersion === null ? 'no goose version table' : `goose version ${gooseVersion}`;
  const parts: string[] = [];
  if (tables.links !== undefined) parts.push(hasUserName ? 'links with userName' : 'links without userName');
  else parts.push('no links table');
  parts.push(tables.downloaders !== undefined ? 'downloaders' : 'no downloaders table');
  parts.push(tables.to_delete !== undefined ? 'to_delete' : 'no to_delete table');
  let name = 'a Go bot schema of its own';
  if (tables.links !== undefined && tables.downloaders !== undefined) {
    if (hasUserName && tables.to_delete !== undefined) name = 'the latest Go bot schema';
    else if (!hasUserName && tables.to_delete === undefined) name = 'the mid-2025 Go bot schema';
  }
  return `${name} (${parts.join(', ')}; ${goose})`;
}

function readGooseVersion(sqlite: SqliteDatabase, table: string): string | null {
  try {
    const [row] = query(sqlite, `SELECT max(version_id) AS v FROM ${quoteIdent(table)} WHERE is_applied`);
    return row?.v === null || row?.v === undefined ? null : String(row.v);
  } catch {
    return null;
  }
}

/** Every row in stored order, with its rowid ("row 3") when the table has one, else its position. */
function readRows(sqlite: SqliteDatabase, table: string): Array<{ rowid: number; row: Row }> {
  try {
    return query(sqlite, `SELECT rowid AS ${ROWID}, * FROM ${quoteIdent(table)} ORDER BY rowid`).map((row) => {
      const { [ROWID]: rowid, ...rest } = row;
      return { rowid: Number(rowid), row: rest };
    });
  } catch {
    return query(sqlite, `SELECT * FROM ${quoteIdent(table)}`).map((row, index) => ({ rowid: index + 1, row }));
  }
}

function query(sqlite: SqliteDatabase, sql: string): Row[] {
  const statement = sqlite.prepare(sql);
  try {
    const rows: Row[] = [];
    while (statement.step()) rows.push(statement.getAsObject() as Row);
    return rows;
  } finally {
    statement.free();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A value as text (SQLite keeps whatever was written, whatever the column's type). */
function text(value: SqlValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return String(value);
}

/** A whole number written as a number or as digits; null for anything else. */
function wholeNumber(value: SqlValue | undefined): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  const digits = text(value)?.trim() ?? '';
  if (!/^-?\d{1,15}$/.test(digits)) return null;
  return Number(digits);
}

/** Unix seconds (the Go bot wrote them as text) as a time; null when missing or not a plausible time. */
function unixSeconds(value: SqlValue | undefined): Date | null {
  const raw = typeof value === 'number' ? value : Number((text(value) ?? '').trim() || NaN);
  if (!Number.isFinite(raw) || raw <= 0 || raw > 253_402_300_799) return null;
  return new Date(Math.round(raw * 1000));
}

/** A Telegram id as dwld stores it (bigint): a user's is positive; a chat's may be negative (groups). */
function isTelegramId(value: string, negativeAllowed: boolean): boolean {
  if (!(negativeAllowed ? /^-?[1-9]\d{0,18}$/ : /^[1-9]\d{0,18}$/).test(value)) return false;
  const n = BigInt(value);
  return n <= MAX_BIGINT && -n <= MAX_BIGINT;
}

function shorten(value: string, length = SHOWN_LENGTH): string {
  return value.length > length ? `${value.slice(0, length - 1)}…` : value;
}

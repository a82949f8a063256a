import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { connectDatabase, Prisma, type DatabaseAccess } from '@dwld/db';
import { deleteJobId, OUTBOX_JOB_OPTIONS, OUTBOX_QUEUE } from '@dwld/events';
import { createRedisNamespace, createTestDatabase, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { runImport } from './run';
import { goDatabase, sqliteFile, unixText, type GoContent } from './testing/go-database';

const HOUR = 3600_000;
const ALICE = '884900075';
const BOB = '123456789';

/** The latest Go schema with a bit of everything, around `now`. */
function latestContent(now: Date): GoContent {
  return {
    links: [
      { link: 'https://youtu.be/Id4d2rjce5M?si=Iv7X', quality: 2160, sendingAt: unixText(new Date(now.getTime() - HOUR)), userID: ALICE, userName: '[alice] Музыка', messageID: '180', errorMsg: '' },
      {
        link: 'https://VK.com/video-226967061_456239047',
        quality: 4320,
        sendingAt: unixText(new Date(now.getTime() + HOUR)),
        userID: BOB,
        userName: '[] Фильмы',
        messageID: '318',
        errorMsg: 'SetToQueue: rpc error: code = Unknown desc = UNIQUE constraint failed: links.link',
      },
      { link: 'ftp://example.com/file', quality: 1080, sendingAt: unixText(now), userID: ALICE, userName: '[alice] Музыка', messageID: '200' },
    ],
    downloaders: [
      { name: 'Unona', allowedRootLinks: 'vk.com, youtu.be,', host: '0.0.0.0', port: 8888 },
      { name: 'nas', allowedRootLinks: 'all', host: '192.168.1.20', port: 9000 },
    ],
    toDelete: [
      { chatID: ALICE, messageID: '181', deleteAt: unixText(new Date(now.getTime() + HOUR)) },
      { chatID: BOB, messageID: '319', deleteAt: unixText(new Date(now.getTime() - HOUR)) },
    ],
  };
}

interface Run {
  code: number;
  out: string;
  err: string;
}

describe('runImport against PostgreSQL and Redis', () => {
  let database: TestDatabase;
  let redisNs: RedisNamespace;
  let access: DatabaseAccess;
  let outbox: Queue;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    [database, redisNs, dir] = await Promise.all([createTestDatabase(), createRedisNamespace('go-import'), mkdtemp(path.join(tmpdir(), 'go-import-'))]);
    access = connectDatabase(database.url, { poolSize: 2 });
    // Through Prisma, so that $disconnect ends the pool.
    await access.db.$connect();
    outbox = new Queue(OUTBOX_QUEUE, { connection: redisNs.redis, prefix: redisNs.prefix, skipMetasUpdate: true });
    env = { DATABASE_URL: database.url, REDIS_URL: redisNs.url, STREAM_PREFIX: redisNs.prefix };
  });
  afterAll(async () => {
    await outbox.close();
    await access.db.$disconnect();
    await Promise.all([database.drop(), redisNs.cleanup(), rm(dir, { recursive: true, force: true })]);
  });
  afterEach(async () => {
    await access.sql.rows(Prisma.sql`TRUNCATE links, dispatches, downloaders, imported_links`);
    await outbox.obliterate({ force: true });
  });

  async function file(name: string, bytes: Uint8Array | string): Promise<string> {
    const target = path.join(dir, name);
    await writeFile(target, bytes);
    return target;
  }

  async function run(argv: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
    let out = '';
    let err = '';
    const code = await runImport(argv, { ...env, ...extraEnv }, { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  }

  const links = () =>
    access.sql.rows<Record<string, unknown>>(Prisma.sql`
      SELECT url, host, user_id::text AS "userId", chat_id::text AS "chatId", username, owner_name AS "ownerName", quality, folder,
             reply_message_id AS "replyMessageId", message_id AS "messageId", send_at AS "sendAt", attempts, last_error AS "lastError",
             status::text AS status, card_pending AS "cardPending", updated_at AS "updatedAt"
        FROM links ORDER BY url`);
  const downloaders = () =>
    access.sql.rows<Record<string, unknown>>(Prisma.sql`
      SELECT name, host, port, allowed_patterns AS patterns, healthy, registered_at AS "registeredAt", last_seen_at AS "lastSeenAt", updated_at AS "updatedAt"
        FROM downloaders ORDER BY name`);
  const redisKeys = () => redisNs.redis.keys(`${redisNs.prefix}*`);

  it('dry run: prints the plan and writes nothing', async () => {
    const now = new Date();
    const db = await file('dry.db', await goDatabase('latest', latestContent(now)));
    const result = await run([db, '--dry-run']);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain(`Go bot database ${db}: the latest Go bot schema (links with userName, downloaders, to_delete; goose version 20250720105324)`);
    expect(result.out).toContain('Dry run: nothing is written.');
    expect(result.out).toContain('Links: 2 would be imported, 1 skipped');
    expect(result.out).toContain('  skipped, not a link (1):\n    links row 3: ftp://example.com/file');
    expect(result.out).toContain('Downloaders: 2 would be imported, 0 skipped');
    expect(result.out).toContain('  would import: Unona at 127.0.0.1:8888 for vk.com, youtu.be');
    expect(result.out).toContain('Deletions: 2 would be scheduled, 0 skipped');
    expect(result.out).toContain('downloader Unona: host "0.0.0.0" → 127.0.0.1 (the Go bot dialled this machine for it)');
    expect(result.out).toContain('downloader Unona: patterns: "" dropped (empty)');
    expect(result.out).toContain('Dry run done: run again without --dry-run to import.');
    expect(await links()).toEqual([]);
    expect(await downloaders()).toEqual([]);
    expect(await redisKeys()).toEqual([]);
  });

  it('imports links, downloaders and deletions; a second run changes nothing', async () => {
    const now = new Date();
    const db = await file('latest.db', await goDatabase('latest', latestContent(now)));
    const first = await run([db]);
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(first.out).toContain('Links: 2 imported, 1 skipped');
    expect(first.out).toContain('Downloaders: 2 imported, 0 skipped');
    expect(first.out).toContain('Deletions: 2 scheduled, 0 skipped');
    expect(first.out).toContain('Done. Running it again changes nothing.');

    const imported = await links();
    expect(imported).toEqual([
      {
        url: 'https://vk.com/video-226967061_456239047',
        host: 'vk.com',
        userId: BOB,
        chatId: BOB,
        // No Telegram username: the destination kept whole, as the Go bot sent it.
        username: '[] Фильмы',
        ownerName: null,
        quality: '4320',
        folder: null,
        replyMessageId: 318,
        messageId: null,
        sendAt: new Date(Math.floor(now.getTime() / 1000) * 1000 + HOUR),
        attempts: 0,
        lastError: 'SetToQueue: rpc error: code = Unknown desc = UNIQUE constraint failed: links.link',
        status: 'queued',
        // The Go bot's reply is there: the gateway draws it again with dwld's buttons.
        cardPending: true,
        updatedAt: expect.any(Date),
      },
      {
        url: 'https://youtu.be/Id4d2rjce5M?si=Iv7X',
        host: 'youtu.be',
        userId: ALICE,
        chatId: ALICE,
        username: 'alice',
        ownerName: 'alice',
        quality: '2160',
        folder: 'Музыка',
        replyMessageId: 180,
        messageId: null,
        sendAt: new Date(Math.floor(now.getTime() / 1000) * 1000 - HOUR),
        attempts: 0,
        lastError: null,
        status: 'queued',
        cardPending: true,
        updatedAt: expect.any(Date),
      },
    ]);
    const registered = await downloaders();
    expect(registered).toEqual([
      expect.objectContaining({ name: 'Unona', host: '127.0.0.1', port: 8888, patterns: ['vk.com', 'youtu.be'], healthy: true }),
      expect.objectContaining({ name: 'nas', host: '192.168.1.20', port: 9000, patterns: ['all'], healthy: true }),
    ]);
    for (const d of registered) {
      expect(Math.abs((d.registeredAt as Date).getTime() - Date.now())).toBeLessThan(60_000);
      expect(d.lastSeenAt).toEqual(d.registeredAt);
    }

    // As the gateway's outbox would have added them: name, data, id, delay, retries.
    const later = await outbox.getJob(deleteJobId(ALICE, 181));
    expect(later).toBeDefined();
    expect(later!.name).toBe('delete');
    expect(later!.data).toEqual({ kind: 'delete', chatId: ALICE, messageId: 181 });
    const deleteAt = Math.floor(now.getTime() / 1000) * 1000 + HOUR;
    expect(later!.opts.delay).toBeGreaterThan(deleteAt - Date.now() - 5_000);
    expect(later!.opts.delay).toBeLessThanOrEqual(deleteAt - now.getTime());
    expect(later!.opts).toMatchObject({ attempts: OUTBOX_JOB_OPTIONS.attempts, backoff: OUTBOX_JOB_OPTIONS.backoff });
    expect(await later!.getState()).toBe('delayed');
    const due = await outbox.getJob(deleteJobId(BOB, 319));
    expect(due!.data).toEqual({ kind: 'delete', chatId: BOB, messageId: 319 });
    expect(due!.opts.delay ?? 0).toBe(0);
    expect(await due!.getState()).toBe('waiting');

    const second = await run([db]);
    expect(second).toMatchObject({ code: 0, err: '' });
    expect(second.out).toContain('Links: 0 imported, 3 skipped');
    expect(second.out).toContain("  skipped, already in dwld's queue (2):\n    links row 1: https://youtu.be/Id4d2rjce5M?si=Iv7X\n    links row 2: https://VK.com/video-226967061_456239047");
    expect(second.out).toContain('Downloaders: 0 imported, 2 skipped');
    expect(second.out).toContain('  skipped, already registered (2):\n    downloaders row 1: Unona\n    downloaders row 2: nas');
    expect(second.out).toContain('Deletions: 0 scheduled, 2 skipped');
    expect(second.out).toContain('  skipped, already scheduled (2):');
    expect(await links()).toEqual(imported);
    expect(await downloaders()).toEqual(registered);
    expect(await outbox.getJobCounts('delayed', 'waiting')).toEqual({ delayed: 1, waiting: 1 });

    // A link removed since (or sent and its history cleaned) does not come back with a third run.
    await access.sql.rows(Prisma.sql`DELETE FROM links WHERE url = 'https://vk.com/video-226967061_456239047'`);
    const third = await run([db]);
    expect(third.code).toBe(0);
    expect(third.out).toContain('Links: 0 imported, 3 skipped');
    expect(third.out).toContain('  skipped, imported before (removed since) (1):\n    links row 2: https://VK.com/video-226967061_456239047');
    expect((await links()).map((l) => l.url)).toEqual(['https://youtu.be/Id4d2rjce5M?si=Iv7X']);
  });

  it('leaves out a link handed to a downloader since, and a downloader that registered live', async () => {
    const now = new Date();
    const db = await file('handed.db', await goDatabase('latest', latestContent(now)));
    await access.sql.rows(Prisma.sql`
      INSERT INTO dispatches (url, host, user_id, chat_id, downloader, quality, attempts, send_at)
      VALUES ('https://youtu.be/Id4d2rjce5M?si=Iv7X', 'youtu.be', ${ALICE}::bigint, ${ALICE}::bigint, 'nas', '2160', 1, now())`);
    await access.sql.rows(Prisma.sql`
      INSERT INTO downloaders (name, host, port, allowed_patterns, registered_at, last_seen_at, healthy, updated_at)
      VALUES ('nas', 'nas.lan', 7000, ARRAY['youtube.com'], now(), now(), true, now())`);

    const dry = await run([db, '--dry-run']);
    expect(dry.out).toContain('Links: 1 would be imported, 2 skipped');
    expect(dry.out).toContain('  skipped, already handed to a downloader (1):\n    links row 1: https://youtu.be/Id4d2rjce5M?si=Iv7X');
    expect(dry.out).toContain('  skipped, already registered (1):\n    downloaders row 2: nas');

    const result = await run([db]);
    expect(result.code).toBe(0);
    expect(result.out).toContain('Links: 1 imported, 2 skipped');
    expect(result.out).toContain('  skipped, already handed to a downloader (1):\n    links row 1: https://youtu.be/Id4d2rjce5M?si=Iv7X');
    expect((await links()).map((l) => l.url)).toEqual(['https://vk.com/video-226967061_456239047']);
    // The live registration is left as it is.
    expect((await downloaders()).map((d) => [d.name, d.host, d.port, d.patterns])).toEqual([
      ['Unona', '127.0.0.1', 8888, ['vk.com', 'youtu.be']],
      ['nas', 'nas.lan', 7000, ['youtube.com']],
    ]);
  });

  it('imports a mid-2025 file (no userName, no to_delete) without needing Redis', async () => {
    const db = await file(
      'mid-2025.db',
      await goDatabase('mid-2025', {
        links: [{ link: 'https://youtu.be/LHCXmWMJb-M', quality: 4320, sendingAt: '1752424028', userID: ALICE, messageID: '254', errorMsg: '' }],
        downloaders: [{ name: 'Unona', allowedRootLinks: 'vk.com', host: '127.0.0.1', port: 8888 }],
      }),
    );
    const result = await run([db], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain('the mid-2025 Go bot schema (links without userName, downloaders, no to_delete table; no goose version table)');
    expect(result.out).toContain('(no to_delete table in this version of the Go bot)');
    expect(result.out).toContain('table links: no userName column');
    expect(await links()).toEqual([
      expect.objectContaining({ url: 'https://youtu.be/LHCXmWMJb-M', userId: ALICE, username: null, folder: null, quality: '4320', replyMessageId: 254, sendAt: new Date(1752424028_000), lastError: null }),
    ]);
    expect(await downloaders()).toEqual([expect.objectContaining({ name: 'Unona', host: '127.0.0.1', port: 8888, patterns: ['vk.com'] })]);
  });

  it('reports an unknown table and column and imports the rest', async () => {
    const db = await file(
      'extra.db',
      await goDatabase('latest', {
        links: [{ link: 'https://example.com/v', userID: ALICE, quality: 720, sendingAt: unixText(new Date()) }],
        extra: 'CREATE TABLE proxies (url text); ALTER TABLE downloaders ADD COLUMN token text;',
      }),
    );
    // The Go bot's SQLite in WAL mode, stopped without a checkpoint: the file alone misses something.
    await writeFile(`${db}-wal`, 'not folded in yet');
    const result = await run([db]);
    expect(result.code).toBe(0);
    expect(result.out).toContain('Notes:\n');
    expect(result.out).toContain(`  ${db}-wal: exists: changes not yet folded into the file are not read`);
    expect(result.out).toContain('  table proxies: not known, not imported');
    expect(result.out).toContain('  downloaders.token: column not known, not imported');
    expect((await links()).map((l) => l.url)).toEqual(['https://example.com/v']);
  });

  it.each([
    ['an SQLite file of another program', () => sqliteFile("CREATE TABLE users (id integer); INSERT INTO users VALUES (1);"), /^Refused .*: not a Go dwld database: .*\(its tables are users\)\. Nothing was imported\.\n$/],
    ['a file that is not SQLite at all', async () => new TextEncoder().encode('#!/bin/sh\necho this is no database\n'.repeat(40)), /^Refused .*: not an SQLite database \(file is not a database\)\. Nothing was imported\.\n$/],
  ])('refuses %s: exit 1, one line, nothing written', async (_what, make, line) => {
    const db = await file('other.db', await make());
    const result = await run([db]);
    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    expect(result.err).toMatch(line);
    expect(await links()).toEqual([]);
    expect(await downloaders()).toEqual([]);
    expect(await redisKeys()).toEqual([]);
  });

  it('says so in one line when the file cannot be read: exit 2', async () => {
    const missing = path.join(dir, 'nowhere', 'links.db');
    expect(await run([missing])).toEqual({ code: 2, out: '', err: `Cannot read ${missing}: no such file\n` });
    expect(await run([dir])).toEqual({ code: 2, out: '', err: `Cannot read ${dir}: it is a directory, not a file\n` });
  });

  it('checks its arguments and configuration first: exit 2', async () => {
    expect(await run([])).toMatchObject({ code: 2, err: "usage: pnpm import:go <path to the Go bot's links.db> [--dry-run]\n" });
    expect(await run(['a.db', 'b.db'])).toMatchObject({ code: 2 });
    expect(await run(['a.db', '--force'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown option --force') });
    expect(await run(['a.db'], { DATABASE_URL: '' })).toEqual({ code: 2, out: '', err: 'Invalid configuration: DATABASE_URL is required\n' });
    expect(await run(['a.db'], { STREAM_PREFIX: 'no spaces allowed' })).toMatchObject({ code: 2, err: expect.stringContaining('STREAM_PREFIX is invalid') });
    expect(await run(['--help'])).toMatchObject({ code: 0, out: expect.stringContaining('usage: pnpm import:go') });
  });

  it('fails in one line without the database password when PostgreSQL does not answer', async () => {
    const db = await file('unreachable.db', await goDatabase('mid-2025', { links: [{ link: 'https://example.com/v', userID: ALICE }] }));
    const result = await run([db], { DATABASE_URL: 'postgresql://postgres:hunter2-not-for-logs@127.0.0.1:1/dwld' });
    expect(result.code).toBe(1);
    expect(result.err.trim().split('\n')).toHaveLength(1);
    expect(result.err).toMatch(/^Import failed: PostgreSQL does not answer \(DATABASE_URL\): connect ECONNREFUSED 127.0.0.1:1\. Nothing was imported\.\n$/);
    expect(result.err).not.toContain('hunter2');
  });

  it('fails in one line when Redis does not answer and there are deletions to schedule', async () => {
    const db = await file('no-redis.db', await goDatabase('latest', latestContent(new Date())));
    const result = await run([db], { REDIS_URL: 'redis://:redis-secret-pw@127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^Redis does not answer \(REDIS_URL\): connect ECONNREFUSED 127.0.0.1:1\. Nothing was imported\.\n$/);
    expect(result.err).not.toContain('redis-secret-pw');
    expect(await links()).toEqual([]);
  });
});

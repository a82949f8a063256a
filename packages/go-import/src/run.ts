import { readFile, stat } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { bool, commonEnv, ConfigError, databaseEnv, databaseOptions, int, parseEnv } from '@dwld/config';
import { connectDatabase, Prisma, type DatabaseAccess } from '@dwld/db';
import { NOT_A_QUALITY, QUALITY_FORMAT } from '@dwld/domain';
import { OUTBOX_QUEUE, type OutboxDeleteJob } from '@dwld/events';
import { applyPlan, type ApplyOutcome } from './apply';
import { NotAGoDatabaseError, planImport, type ImportPlan } from './plan';
import { formatReport } from './report';
import { openSqlite } from './sqlite';
import { errorMessage } from '@dwld/errors';

const common = commonEnv(0);

/** What the importer reads from the environment: where dwld's state is, and the gateway's link rules. */
export const importEnv = z.object({
  DATABASE_URL: common.DATABASE_URL,
  ...databaseEnv(),
  REDIS_URL: common.REDIS_URL,
  STREAM_PREFIX: common.STREAM_PREFIX,
  /** The gateway's: the quality of a link whose own is missing or not a quality. */
  DEFAULT_QUALITY: z
    .string()
    .regex(QUALITY_FORMAT, NOT_A_QUALITY)
    .optional()
    .transform((v) => v ?? '1080'),
  /** The gateway's: links longer than this are refused. */
  MAX_LINK_LENGTH: int({ min: 16, max: 8192, default: 2048 }),
  /** The gateway's: links to private and local addresses are refused unless this is on. */
  ALLOW_PRIVATE_HOSTS: bool(false),
});
export type ImportConfig = z.infer<typeof importEnv>;

export const USAGE = 'usage: pnpm import:go <path to the Go bot\'s links.db> [--dry-run]';

export interface ImportIo {
  out(text: string): void;
  err(text: string): void;
}

export interface RunOptions {
  /** The import's "now" (tests). */
  now?: () => Date;
}

/** Exit codes: 0 done, 1 refused or failed (not a Go dwld database, PostgreSQL or Redis failing), 2 not started (usage, configuration, file unreadable). */
export async function runImport(argv: readonly string[], env: Record<string, string | undefined>, io: ImportIo, options: RunOptions = {}): Promise<number> {
  const line = (text: string) => io.err(`${text}\n`);
  const flags = argv.filter((a) => a.startsWith('-'));
  const files = argv.filter((a) => !a.startsWith('-'));
  if (flags.includes('--help') || flags.includes('-h')) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  const unknown = flags.filter((f) => f !== '--dry-run');
  if (unknown.length > 0 || files.length !== 1) {
    line(unknown.length > 0 ? `unknown option ${unknown[0]}; ${USAGE}` : USAGE);
    return 2;
  }
  const file = files[0]!;
  const dryRun = flags.includes('--dry-run');

  let config: ImportConfig;
  try {
    config = parseEnv(importEnv, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      line(err.message);
      return 2;
    }
    throw err;
  }

  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    line(`Cannot read ${file}: ${fileProblem(err)}`);
    return 2;
  }

  const now = options.now ?? (() => new Date());
  let plan: ImportPlan;
  const sqlite = await openSqlite(bytes);
  try {
    plan = planImport(sqlite, { now: now(), defaultQuality: config.DEFAULT_QUALITY, linkPolicy: { maxLength: config.MAX_LINK_LENGTH, allowPrivateHosts: config.ALLOW_PRIVATE_HOSTS } });
  } catch (err) {
    if (err instanceof NotAGoDatabaseError) {
      line(`Refused ${file}: ${err.message}. Nothing was imported.`);
      return 1;
    }
    throw err;
  } finally {
    sqlite.close();
  }
  for (const suffix of ['-wal', '-journal']) {
    const size = await stat(`${file}${suffix}`).then((s) => s.size, () => 0);
    if (size > 0) plan.notes.push({ about: `${file}${suffix}`, text: 'exists: changes not yet folded into the file are not read (start and stop the Go bot once, or open the file with sqlite3, then import again)' });
  }

  const secrets = [config.DATABASE_URL, config.REDIS_URL].flatMap(passwordOf);
  const scrub = (text: string) => secrets.reduce((t, s) => t.split(s).join('***'), text);
  let access: DatabaseAccess | undefined;
  let redis: Redis | undefined;
  let outbox: Queue<OutboxDeleteJob> | undefined;
  let outcome: ApplyOutcome;
  let writing = false;
  try {
    access = connectDatabase(config.DATABASE_URL, { ...databaseOptions(config), poolSize: 2 });
    // Connected through Prisma, so that $disconnect below ends the pool (an unused client leaves it open for its idle timeout).
    await access.db.$connect();
    const [schema] = await access.sql.rows<{ migrated: boolean }>(Prisma.sql`
      SELECT to_regclass('links') IS NOT NULL AND to_regclass('downloaders') IS NOT NULL AND to_regclass('dispatches') IS NOT NULL AS migrated`);
    if (!schema?.migrated) {
      line("dwld's tables are missing in DATABASE_URL's database (run `pnpm db:migrate` first). Nothing was imported.");
      return 1;
    }
    if (plan.deletions.length > 0) {
      // One try, no reconnecting: a command-line run reports a Redis that does not answer and stops.
      redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000, retryStrategy: () => null });
      let redisError: Error | undefined;
      redis.on('error', (err: Error) => (redisError = err));
      try {
        await redis.connect();
      } catch (err) {
        // connect() rejects with "Connection is closed."; the 'error' event had the reason.
        line(scrub(`Redis does not answer (REDIS_URL): ${errorMessage(redisError ?? err)}. Nothing was imported.`));
        return 1;
      }
      // The gateway's outbox queue; a dry run leaves even BullMQ's bookkeeping (the queue's meta) unwritten.
      outbox = new Queue<OutboxDeleteJob>(OUTBOX_QUEUE, { connection: redis, prefix: config.STREAM_PREFIX, skipMetasUpdate: dryRun });
      outbox.on('error', () => {});
    }
    writing = !dryRun;
    outcome = await applyPlan(plan, { sql: access.sql, outbox }, { dryRun });
  } catch (err) {
    const stopped = writing ? 'What was written stays; running the import again carries on from there.' : 'Nothing was imported.';
    line(scrub(`Import failed: ${describeFailure(err)}. ${stopped}`));
    return 1;
  } finally {
    await outbox?.close().catch(() => undefined);
    // An ended client (it never connected) must not be disconnected again: ioredis would wait 2 s
    // (disconnectTimeout) for a close event its socket already sent.
    if (redis !== undefined && redis.status !== 'end') redis.disconnect();
    await access?.db.$disconnect().catch(() => undefined);
  }
  io.out(formatReport(file, plan, outcome));
  return 0;
}

function fileProblem(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return errorMessage(err);
  }
}

function describeFailure(err: unknown): string {
  const message = errorMessage(err);
  if (/ECONNREFUSED|ENOTFOUND|timeout|terminated/i.test(message)) return `PostgreSQL does not answer (DATABASE_URL): ${message}`;
  return message;
}

function passwordOf(url: string): string[] {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === '' ? [] : [password];
  } catch {
    return [];
  }
}

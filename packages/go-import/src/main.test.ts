import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRedisNamespace, createTestDatabase, type RedisNamespace, type TestDatabase } from '@dwld/testkit';
import { goDatabase, unixText } from './testing/go-database';

// The command as it ships: the built dist/main.js in its own process (turbo builds before testing).
const MAIN = path.resolve(__dirname, '../dist/main.js');

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runMain(args: string[], env: Record<string, string>): Promise<Finished> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (pnpm exec turbo run build --filter=@dwld/go-import)`);
  const started = Date.now();
  const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })));
}

describe('the import-go command (dist/main.js)', () => {
  let database: TestDatabase;
  let redisNs: RedisNamespace;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    [database, redisNs, dir] = await Promise.all([createTestDatabase(), createRedisNamespace('go-import-main'), mkdtemp(path.join(tmpdir(), 'go-import-main-'))]);
    env = { DATABASE_URL: database.url.replace('postgres@', 'postgres:pw-never-printed@'), REDIS_URL: redisNs.url, STREAM_PREFIX: redisNs.prefix };
  });
  afterAll(() => Promise.all([database.drop(), redisNs.cleanup(), rm(dir, { recursive: true, force: true })]));

  it('imports a Go database, prints the summary and exits at once; again, it skips everything', async () => {
    const now = new Date();
    const file = path.join(dir, 'links.db');
    await writeFile(
      file,
      await goDatabase('latest', {
        links: [{ link: 'https://youtu.be/abc', quality: 1440, sendingAt: unixText(now), userID: '884900075', userName: '[alice] Музыка', messageID: '12' }],
        downloaders: [{ name: 'Unona', allowedRootLinks: 'youtu.be', host: '', port: 8888 }],
        toDelete: [{ chatID: '884900075', messageID: '13', deleteAt: unixText(new Date(now.getTime() + 60_000)) }],
      }),
    );
    const dry = await runMain([file, '--dry-run'], env);
    expect(dry).toMatchObject({ code: 0, stderr: '' });
    expect(dry.stdout).toContain('Links: 1 would be imported, 0 skipped');

    const first = await runMain([file], env);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('Links: 1 imported, 0 skipped');
    expect(first.stdout).toContain('Downloaders: 1 imported, 0 skipped');
    expect(first.stdout).toContain('Deletions: 1 scheduled, 0 skipped');
    // Connections closed: no pool or Redis client keeps the process waiting.
    expect(first.ms).toBeLessThan(8_000);

    const second = await runMain([file], env);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toContain("Links: 0 imported, 1 skipped\n  skipped, already in dwld's queue (1):\n    links row 1: https://youtu.be/abc");
    expect(second.stdout).toContain('Deletions: 0 scheduled, 1 skipped');
    for (const run of [dry, first, second]) expect(run.stdout + run.stderr).not.toContain('pw-never-printed');
  });

  it('exits 2 with one line for a missing file, 1 for a file that is not a Go database', async () => {
    const missing = await runMain([path.join(dir, 'missing.db')], env);
    expect(missing).toMatchObject({ code: 2, stdout: '', stderr: `Cannot read ${path.join(dir, 'missing.db')}: no such file\n` });

    const text = path.join(dir, 'notes.txt');
    await writeFile(text, 'not a database, just some words\n'.repeat(100));
    const notSqlite = await runMain([text], env);
    expect(notSqlite.code).toBe(1);
    expect(notSqlite.stdout).toBe('');
    expect(notSqlite.stderr).toMatch(/^Refused .*notes\.txt: not an SQLite database \(file is not a database\)\. Nothing was imported\.\n$/);

    const usage = await runMain([], env);
    expect(usage).toMatchObject({ code: 2, stdout: '' });
    expect(usage.stderr).toContain('usage: pnpm import:go');
  });
});

#!/usr/bin/env node
// The one entry point behind the root scripts (`pnpm test`, `pnpm start`, `pnpm db:migrate`…).
// It runs with Node alone, so `npm test` / `npm start` work on a machine that has only Node,
// Redis and PostgreSQL: it installs the pinned pnpm and the dependencies itself, checks that
// Redis and PostgreSQL answer, and prepares the database before doing what was asked.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pinnedPnpm = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).packageManager.replace(/^pnpm@/, '');

const DEFAULTS = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/dwld',
  TEST_DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/dwld_test',
  REDIS_URL: 'redis://127.0.0.1:6379',
};
/** The services `pnpm start` runs, in start order (the registry first: downloaders call it). */
const SERVICES = ['registry', 'scheduler', 'bot-gateway'].filter((name) => existsSync(path.join(root, 'services', name, 'package.json')));

const env = { ...process.env, CI: process.env.CI ?? 'true', TURBO_TELEMETRY_DISABLED: '1' };
for (const [key, value] of Object.entries(DEFAULTS)) if (!env[key]) env[key] = value;

function say(message) {
  process.stderr.write(`[dwld] ${message}\n`);
}

class StepFailed extends Error {}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, env: { ...env, ...options.env }, stdio: options.capture ? 'pipe' : 'inherit', encoding: 'utf8' });
  if (result.error) throw new StepFailed(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0 && !options.allowFailure) throw new StepFailed(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  return result;
}

/** The pinned pnpm: the one on PATH if it is that version, else a copy installed into .tools/. */
function ensurePnpm() {
  const onPath = spawnSync('pnpm', ['--version'], { encoding: 'utf8', env });
  if (onPath.status === 0 && onPath.stdout.trim() === pinnedPnpm) return 'pnpm';
  const local = path.join(root, '.tools', 'node_modules', '.bin', 'pnpm');
  const localVersion = existsSync(local) ? spawnSync(local, ['--version'], { encoding: 'utf8', env }).stdout?.trim() : undefined;
  if (localVersion !== pinnedPnpm) {
    say(`installing pnpm ${pinnedPnpm} into .tools/`);
    run('npm', ['install', '--prefix', path.join(root, '.tools'), '--no-save', '--no-audit', '--no-fund', `pnpm@${pinnedPnpm}`]);
  }
  return local;
}

function install(pnpm) {
  run(pnpm, ['install', '--frozen-lockfile', '--prefer-offline']);
}

function reachable(url, defaultPort) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(port || defaultPort) });
    socket.setTimeout(3000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });
}

function redacted(url) {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function ensureServicesAnswer(databaseUrl) {
  const problems = [];
  if (!(await reachable(env.REDIS_URL, 6379))) {
    problems.push(`Redis does not answer at ${redacted(env.REDIS_URL)} (start it: \`docker compose up -d redis\`, or \`redis-server --daemonize yes\`; or set REDIS_URL)`);
  }
  if (!(await reachable(databaseUrl, 5432))) {
    problems.push(`PostgreSQL does not answer at ${redacted(databaseUrl)} (start it: \`docker compose up -d postgres\`, or your system's service; or set DATABASE_URL)`);
  }
  if (problems.length) throw new StepFailed(problems.join('\n'));
}

/** `pg` comes with the workspace's dependencies, so this runs after `pnpm install`. */
function loadPg() {
  return createRequire(path.join(root, 'packages', 'db', 'package.json'))('pg');
}

async function withClient(url, fn) {
  const { Client } = loadPg();
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function ensureDatabaseExists(databaseUrl) {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  await withClient(admin.toString(), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      say(`creating database "${name}"`);
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    }
  });
}

/** Migrations not yet applied to the database (every one when it has none). */
async function pendingMigrations(databaseUrl) {
  const dir = path.join(root, 'prisma', 'migrations');
  const all = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const applied = await withClient(databaseUrl, async (client) => {
    const { rows: table } = await client.query("SELECT to_regclass('public._prisma_migrations') AS t");
    if (!table[0].t) return [];
    const { rows } = await client.query('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL');
    return rows.map((r) => r.migration_name);
  });
  return all.filter((name) => !applied.includes(name));
}

/** Creates the database if needed and applies pending migrations (skipped when none: the wasm engine takes ~11 s). */
async function migrate(pnpm, databaseUrl) {
  await ensureDatabaseExists(databaseUrl);
  const pending = await pendingMigrations(databaseUrl);
  if (pending.length === 0) {
    say(`database ${redacted(databaseUrl)} is up to date`);
    return;
  }
  say(`applying ${pending.length} migration(s) to ${redacted(databaseUrl)}`);
  run(pnpm, ['--filter', '@dwld/db', 'run', 'migrate:deploy'], { env: { DATABASE_URL: databaseUrl } });
}

function build(pnpm, filter) {
  run(pnpm, ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only', ...(filter ? [`--filter=${filter}...`] : [])]);
}

/**
 * Runs processes ({ name, main, env? }) as children; Ctrl-C / SIGTERM stops them all and waits.
 * If one exits on its own, the others are stopped too: a half-running system helps nobody.
 */
function runProcesses(processes) {
  let stopping = false;
  let exitCode = 0;
  const children = processes.map(({ name, main, env: extra }) => {
    if (!existsSync(main)) throw new StepFailed(`${name} has no build output (${path.relative(root, main)})`);
    // Own process group: a terminal's Ctrl-C reaches only this runner, which then sends each
    // service one SIGTERM (a second signal would make a service exit without finishing its work).
    // The memory settings of the Dockerfile (SERVICE_MEMORY_ENV and SCHEDULER_MEMORY_ENV in
    // @dwld/testkit say why), unless the environment says otherwise.
    const oldSpaceMb = name === 'scheduler' ? 1024 : 64;
    const memory = { NODE_OPTIONS: `--max-semi-space-size=4 --max-old-space-size=${oldSpaceMb}`, MALLOC_ARENA_MAX: '2' };
    const child = spawn(process.execPath, ['--enable-source-maps', main], { cwd: root, env: { ...memory, ...env, ...extra }, stdio: 'inherit', detached: true });
    child.on('exit', (code, signal) => {
      say(`${name} exited (${signal ?? code})`);
      if (!stopping) stop(code || 1);
    });
    return child;
  });
  function stop(code = 0) {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  }
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  return new Promise((resolve) => {
    let left = children.length;
    for (const child of children) child.on('exit', () => --left === 0 && resolve(exitCode));
  });
}

const serviceMain = (name) => path.join(root, 'services', name, 'dist', 'main.js');

/**
 * The sandbox: dwld with no Telegram account and no downloader. The Bot API emulator (with its
 * web chat page), two simulated downloaders and the three services, wired together.
 */
function sandboxProcesses() {
  const emulatorPort = env.EMULATOR_PORT || '8088';
  const apiRoot = `http://127.0.0.1:${emulatorPort}`;
  const common = {
    TELEGRAM_BOT_TOKEN: '1000000:sandbox-bot-token-not-a-real-one',
    TELEGRAM_API_ROOT: apiRoot,
    // The emulator's people: Admin 100, Alice 200, Bob 201; the Stranger (999) may log in by
    // sharing his contact.
    ADMIN_IDS: env.ADMIN_IDS || '100',
    ALLOWED_IDS: env.ALLOWED_IDS || '200,201',
    ALLOWED_PHONES: env.ALLOWED_PHONES || '+15550100999',
    FOLDERS: env.FOLDERS || 'Music,Films,Shows',
    DISPATCH_DELAY_S: env.DISPATCH_DELAY_S || '20',
  };
  const sim = (name, patterns, httpPort) => ({
    name,
    main: serviceMain('downloader-sim'),
    env: { SIM_NAME: name, PATTERNS: patterns, HTTP_PORT: httpPort, REGISTER_INTERVAL_S: '10', DOWNLOAD_SECONDS: '30', REGISTRY_ADDRESS: '127.0.0.1:9999' },
  });
  return [
    { name: 'telegram-emulator', main: path.join(root, 'packages', 'telegram-emulator', 'dist', 'main.js'), env: { EMULATOR_PORT: emulatorPort } },
    ...SERVICES.map((name) => ({ name, main: serviceMain(name), env: common })),
    sim('video-nas', 'youtube.com,youtu.be,vimeo.com,rutube.ru,vk.com', '8091'),
    sim('anything-box', '*', '8092'),
  ];
}

/** docs/RELIABILITY.md from the figures the fault tests recorded in this run. */
function writeReliabilityReport(figuresFile) {
  const rows = existsSync(figuresFile)
    ? readFileSync(figuresFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line))
    : [];
  const table = [
    '| what was broken | how often | links in | dispatched | duplicates | lost |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.fault} | ${r.times} | ${r.linksIn} | ${r.dispatched} | ${r.duplicates} | ${r.lost} |`),
  ].join('\n');
  const out = path.join(root, 'docs', 'RELIABILITY.md');
  writeFileSync(
    out,
    `# Reliability\n\nWritten by \`pnpm test:faults\` (tests/e2e/faults): each test breaks the running system on purpose while links flow, then checks that every accepted link (the bot said "queued" or "sent for immediate download") was dispatched.\n\nLast run: ${new Date().toISOString()} on Node ${process.version}.\n\n${table}\n`,
  );
  say(`wrote ${path.relative(root, out)}`);
}

function sandbox(pnpm) {
  build(pnpm);
  const processes = sandboxProcesses();
  const url = processes[0].env.EMULATOR_PORT;
  say(`sandbox: no TELEGRAM_BOT_TOKEN, so dwld talks to the built-in Telegram emulator.`);
  say(`sandbox: open the web chat at http://127.0.0.1:${url}/ (Ctrl-C stops everything)`);
  return runProcesses(processes);
}

/**
 * The steps every command starts with: the pinned pnpm, the dependencies, Redis and PostgreSQL
 * answering, and (unless `migrateDb` is false) the database created and migrated.
 */
async function prepare(databaseUrl, { migrateDb = true } = {}) {
  const pnpm = ensurePnpm();
  install(pnpm);
  await ensureServicesAnswer(databaseUrl);
  if (migrateDb) await migrate(pnpm, databaseUrl);
  return pnpm;
}

async function main() {
  const [command = 'help', ...rest] = process.argv.slice(2);
  switch (command) {
    case 'test': {
      // Test databases are cloned from this migrated template, one per test file.
      const pnpm = await prepare(env.TEST_DATABASE_URL);
      run(pnpm, ['exec', 'turbo', 'run', 'test', ...rest]);
      return 0;
    }
    case 'faults': {
      const pnpm = await prepare(env.TEST_DATABASE_URL);
      build(pnpm);
      const figures = path.join(root, 'tests', 'e2e', '.faults', 'figures.jsonl');
      rmSync(figures, { force: true });
      run(pnpm, ['--filter', '@dwld/e2e', 'run', 'test:faults', ...rest]);
      writeReliabilityReport(figures);
      return 0;
    }
    case 'bench': {
      // Benchmarks clone the same migrated template the tests use.
      const pnpm = await prepare(env.TEST_DATABASE_URL);
      build(pnpm);
      run(process.execPath, [path.join(root, 'bench', 'dist', 'run.js'), ...rest]);
      return 0;
    }
    case 'migrate': {
      await prepare(env.DATABASE_URL);
      return 0;
    }
    case 'start': {
      const only = rest[0];
      if (only && !SERVICES.includes(only)) throw new StepFailed(`unknown service "${only}" (one of: ${SERVICES.join(', ')})`);
      // Starting one service applies nothing by surprise; `start` of everything migrates first.
      const pnpm = await prepare(env.DATABASE_URL, { migrateDb: !only });
      if (!only && !env.TELEGRAM_BOT_TOKEN) return sandbox(pnpm);
      const names = only ? [only] : SERVICES;
      for (const name of names) build(pnpm, `./services/${name}`);
      return runProcesses(names.map((name) => ({ name, main: serviceMain(name) })));
    }
    case 'sandbox': {
      return sandbox(await prepare(env.DATABASE_URL));
    }
    default:
      process.stderr.write('usage: node scripts/dwld.mjs test [turbo args] | migrate | start [registry|scheduler|bot-gateway] | sandbox | bench [scenario…] [--quick] | faults\n');
      return command === 'help' ? 0 : 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    say(err instanceof StepFailed ? err.message : (err?.stack ?? String(err)));
    process.exit(1);
  },
);

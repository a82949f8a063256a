#!/usr/bin/env node
// The one entry point behind the root scripts (`pnpm test`, `pnpm start`, `pnpm db:migrate`…).
// It runs with Node alone, so `npm test` / `npm start` work on a machine that has only Node,
// Redis and PostgreSQL: it installs the pinned pnpm and the dependencies itself, checks that
// Redis and PostgreSQL answer, and prepares the database before doing what was asked.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { constants as osConstants } from 'node:os';
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

/**
 * The process that started this one (npm, pnpm, a shell, a process manager). When it is gone
 * (SIGKILLed, or SIGHUP, which npm does not catch), this runner is an orphan and stops
 * everything it started: nobody is left to stop it.
 */
const parentAtStart = process.ppid;

function say(message) {
  process.stderr.write(`[dwld] ${message}\n`);
}

class StepFailed extends Error {}

/** The step running now (install, migrate, build, tests…), for a signal to stop. */
let currentStep;

/**
 * Runs one step as a child and waits for it. Asynchronous, so that a signal arriving meanwhile
 * (npm passing on Ctrl-C or SIGTERM, a hang-up) is handled: the step is stopped with the same
 * signal and this runner exits, rather than being killed with the step left running.
 */
function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    // Its own process group, so that a stop reaches every process of the step (pnpm runs scripts
    // through sh, which passes no signal on): the whole group gets the signal.
    const child = spawn(command, args, { cwd: root, env: { ...env, ...options.env }, stdio: options.capture ? ['ignore', 'pipe', 'pipe'] : 'inherit', detached: true });
    currentStep = child;
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    child.on('error', (err) => {
      currentStep = undefined;
      reject(new StepFailed(`${command} could not run: ${err.message}`));
    });
    child.on('close', (status, signal) => {
      currentStep = undefined;
      if (stopSignal) return process.exit(128 + (osConstants.signals[stopSignal] ?? 15));
      if (status !== 0 && !options.allowFailure) return reject(new StepFailed(`${command} ${args.join(' ')} exited with ${status ?? signal}`));
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** The signal that asked this runner to stop before the services ran (the step is stopped, then it exits). */
let stopSignal;
function stopStep(reason, signal) {
  if (stopSignal) return;
  stopSignal = signal;
  say(`stopping: ${reason}`);
  if (currentStep && currentStep.exitCode === null) {
    try {
      process.kill(-currentStep.pid, signal === 'SIGHUP' ? 'SIGTERM' : signal);
    } catch {
      currentStep.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal);
    }
  } else process.exit(128 + (osConstants.signals[signal] ?? 15));
}
/**
 * Whoever asked this runner to stop (a signal, or its parent gone: npm SIGKILLed or hung up,
 * this runner an orphan) is heard here, once for the whole run: before the services run, the
 * step in hand is stopped; once they run, runProcesses stops them.
 */
let onStopRequest = stopStep;
const orphaned = () => process.ppid !== parentAtStart;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => onStopRequest(`got ${signal}`, signal));
setInterval(() => orphaned() && onStopRequest(`the process that started dwld (pid ${parentAtStart}) is gone`, 'SIGTERM'), 250).unref();

/** The pinned pnpm: the one on PATH if it is that version, else a copy installed into .tools/. */
async function ensurePnpm() {
  const onPath = spawnSync('pnpm', ['--version'], { encoding: 'utf8', env });
  if (onPath.status === 0 && onPath.stdout.trim() === pinnedPnpm) return 'pnpm';
  const local = path.join(root, '.tools', 'node_modules', '.bin', 'pnpm');
  const localVersion = existsSync(local) ? spawnSync(local, ['--version'], { encoding: 'utf8', env }).stdout?.trim() : undefined;
  if (localVersion !== pinnedPnpm) {
    say(`installing pnpm ${pinnedPnpm} into .tools/`);
    await run('npm', ['install', '--prefix', path.join(root, '.tools'), '--no-save', '--no-audit', '--no-fund', `pnpm@${pinnedPnpm}`]);
  }
  return local;
}

function install(pnpm) {
  return run(pnpm, ['install', '--frozen-lockfile', '--prefer-offline']);
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

/**
 * The browser the web chat's test drives (tests/e2e/web-chat.test.ts): CHROMIUM_PATH, else
 * Debian's /usr/bin/chromium, installed here with apt-get when this machine can (root on a
 * Debian-like system), as .ci/run used to; otherwise the test run stops first, saying what to do.
 */
async function ensureChromium() {
  if (env.CHROMIUM_PATH) {
    if (!existsSync(env.CHROMIUM_PATH)) throw new StepFailed(`CHROMIUM_PATH is ${env.CHROMIUM_PATH}, which does not exist`);
    return;
  }
  const debian = '/usr/bin/chromium';
  if (existsSync(debian)) return;
  const canInstall = process.getuid?.() === 0 && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!canInstall) {
    throw new StepFailed(
      `the web chat's browser test needs Chromium: install your system's chromium package (Debian/Ubuntu: sudo apt-get install chromium), or set CHROMIUM_PATH to a Chromium or Chrome binary`,
    );
  }
  say("installing Debian's chromium (the web chat's browser test drives it)");
  const aptEnv = { DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env: aptEnv });
  await run('apt-get', ['install', '-y', '-qq', 'chromium'], { env: aptEnv });
  if (!existsSync(debian)) throw new StepFailed(`apt-get installed chromium, but ${debian} is not there: set CHROMIUM_PATH`);
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
  say(`applying ${pending.length} migration(s) to ${redacted(databaseUrl)}: ${pending.join(', ')}`);
  // Prisma's own output is shown only when it fails. Prisma 6.19 with a driver adapter always
  // warns that the schema's datasource `url` is not used, yet the CLI needs that `url` to read
  // the schema at all (without it, it falls back to downloading a query engine): a warning with
  // nothing to act on, so it is not put in front of a newcomer. CHECKPOINT_DISABLE: no call home.
  const result = await run(pnpm, ['--filter', '@dwld/db', 'run', 'migrate:deploy'], { env: { DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1' }, capture: true, allowFailure: true });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
    throw new StepFailed(`applying the migrations failed (prisma migrate deploy exited with ${result.status ?? result.signal})`);
  }
  say('migrations applied');
}

function build(pnpm, filter) {
  return run(pnpm, ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only', ...(filter ? [`--filter=${filter}...`] : [])]);
}

/** SHUTDOWN_TIMEOUT_S as the services read it (default 15 s), in ms. */
function shutdownTimeoutMs() {
  const seconds = Number(env.SHUTDOWN_TIMEOUT_S);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 15) * 1000;
}

/** How much longer than SHUTDOWN_TIMEOUT_S a child may take to stop before it is killed. */
const KILL_MARGIN_MS = 5000;

/** `<NAME>_HTTP_PORT`: the variable that sets the HTTP_PORT of the process called `name`. */
const httpPortVariable = (name) => `${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_HTTP_PORT`;

/** Resolves once something accepts TCP connections at host:port, or `gaveUp()` says to stop waiting. */
async function untilListening(host, port, gaveUp) {
  while (!gaveUp()) {
    if (await reachable(`tcp://${host}:${port}`, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs processes ({ name, main, env?, startAfter?, stopsLast? }) as children, in order
 * (one with `startAfter` is started once that resolves), and resolves with the exit code once all
 * of them have exited. Everything stops, each child getting one SIGTERM (the `stopsLast` ones
 * once the others have exited), when:
 * - this runner gets SIGINT, SIGTERM or SIGHUP;
 * - the process that started it is gone (npm SIGKILLed or hung up: this runner is an orphan);
 * - a child exits on its own: a half-running system helps nobody.
 * A child still running SHUTDOWN_TIMEOUT_S + 5 s after its SIGTERM is SIGKILLed. And if this
 * runner dies without stopping them (SIGKILL), each child sees its IPC channel close and stops
 * itself (handleShutdown in @dwld/runtime; the emulator's main does the same).
 * Exit code: 0 when everything stopped cleanly on request; 1 when a child had to be killed or
 * failed its stop; the child's code (or 1) when one exited on its own.
 */
function runProcesses(processes) {
  const running = new Map();
  let stopping = false;
  let starting = true;
  let exitCode = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const settle = () => {
    if (stopping && !starting && running.size === 0) finish(exitCode);
  };

  function launch({ name, main, env: extra, stopsLast = false }) {
    // The memory settings of the Dockerfile (SERVICE_MEMORY_ENV and SCHEDULER_MEMORY_ENV in
    // @dwld/testkit say why), unless the environment says otherwise.
    const oldSpaceMb = name === 'scheduler' ? 1024 : 64;
    const memory = { NODE_OPTIONS: `--max-semi-space-size=4 --max-old-space-size=${oldSpaceMb}`, MALLOC_ARENA_MAX: '2' };
    const httpPort = env[httpPortVariable(name)];
    const childEnv = { ...memory, ...env, ...extra, ...(httpPort ? { HTTP_PORT: httpPort } : {}) };
    const args = ['--enable-source-maps', main];
    // Own process group: a terminal's Ctrl-C reaches only this runner, which then sends each
    // child one SIGTERM (a second signal would make a service exit without finishing its work).
    // The IPC channel is how a child learns that this runner is gone, however it died.
    const child = spawn(process.execPath, args, { cwd: root, env: childEnv, stdio: ['inherit', 'inherit', 'inherit', 'ipc'], detached: true });
    running.set(child, { name, stopsLast });
    let ended = false;
    const onEnd = (code, signal) => {
      if (ended) return;
      ended = true;
      running.delete(child);
      say(`${name} exited (${signal ?? code})`);
      if (!stopping) stop(`${name} exited on its own`, code || 1);
      // Ended by the SIGTERM it was sent before it had a handler (it was still starting): clean.
      else if (code !== 0 && signal !== 'SIGTERM') exitCode = exitCode || 1;
      if (stopping) askToStop();
      settle();
    };
    child.on('exit', onEnd);
    child.on('error', (err) => {
      say(`${name} could not run: ${err.message}`);
      onEnd(1, null);
    });
  }

  /** One SIGTERM each; the `stopsLast` ones once the others are gone (those may need them while they stop). */
  const signalled = new Set();
  function askToStop() {
    const othersLeft = [...running.values()].some((p) => !p.stopsLast);
    for (const [child, { stopsLast }] of running) {
      if (signalled.has(child) || (stopsLast && othersLeft)) continue;
      signalled.add(child);
      child.kill('SIGTERM');
    }
  }

  function stop(reason, code = 0) {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    say(`stopping everything: ${reason}`);
    askToStop();
    const killAfterMs = shutdownTimeoutMs() + KILL_MARGIN_MS;
    setTimeout(() => {
      for (const [child, { name }] of running) {
        say(`${name} still running ${killAfterMs / 1000} s after SIGTERM: killing it`);
        exitCode = exitCode || 1;
        try {
          process.kill(-child.pid, 'SIGKILL'); // its whole process group
        } catch {
          child.kill('SIGKILL');
        }
      }
    }, killAfterMs).unref();
    settle();
  }

  onStopRequest = (reason) => stop(reason);

  void (async () => {
    try {
      for (const spec of processes) {
        if (stopping) break;
        if (orphaned()) {
          stop(`the process that started dwld (pid ${parentAtStart}) is gone`);
          break;
        }
        if (!existsSync(spec.main)) throw new StepFailed(`${spec.name} has no build output (${path.relative(root, spec.main)})`);
        if (spec.startAfter) await spec.startAfter(() => stopping);
        if (stopping) break;
        launch(spec);
      }
    } catch (err) {
      say(err instanceof StepFailed ? err.message : (err?.stack ?? String(err)));
      stop('a process could not be started', 1);
    } finally {
      starting = false;
      settle();
    }
  })();
  return finished;
}

const serviceMain = (name) => path.join(root, 'services', name, 'dist', 'main.js');

/**
 * The sandbox: dwld with no Telegram account and no downloader. The Bot API emulator (with its
 * web chat page), two simulated downloaders and the three services, wired together. Every port
 * can be moved (EMULATOR_PORT, GRPC_PORT for the registry, `<NAME>_HTTP_PORT` for each process's
 * HTTP_PORT), so a test can run a whole sandbox next to anything else.
 */
function sandboxProcesses() {
  const emulatorPort = env.EMULATOR_PORT || '8088';
  const registryPort = env.GRPC_PORT || '9999';
  const apiRoot = `http://127.0.0.1:${emulatorPort}`;
  // The emulator's state, kept across runs: update and message ids never repeat (the gateway
  // keeps message ids in the database and handled update ids in Redis) and the chats come back.
  const stateFile = path.resolve(root, env.EMULATOR_STATE_FILE || path.join('.sandbox', 'telegram-emulator.json'));
  mkdirSync(path.dirname(stateFile), { recursive: true });
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
    main: path.join(root, 'tools', 'downloader-sim', 'dist', 'main.js'),
    // GRPC_PORT 0 (any free port): the registry's GRPC_PORT must not reach the simulators.
    env: { SIM_NAME: name, PATTERNS: patterns, HTTP_PORT: httpPort, GRPC_PORT: '0', REGISTER_INTERVAL_S: '10', DOWNLOAD_SECONDS: '30', REGISTRY_ADDRESS: `127.0.0.1:${registryPort}` },
    // Started once the registry listens, so their first registration is not refused.
    startAfter: (stopping) => untilListening('127.0.0.1', Number(registryPort), stopping),
    // The scheduler finishes its calls to them while it stops.
    stopsLast: true,
  });
  return [
    {
      name: 'telegram-emulator',
      main: path.join(root, 'tools', 'telegram-emulator', 'dist', 'main.js'),
      env: { EMULATOR_PORT: emulatorPort, EMULATOR_STATE_FILE: stateFile },
      // The gateway sends what it still has to send while it stops (telegraf would otherwise
      // wait 5 s on its broken long poll before it could stop).
      stopsLast: true,
    },
    ...SERVICES.map((name) => ({ name, main: serviceMain(name), env: name === 'registry' ? { ...common, GRPC_PORT: registryPort } : common })),
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
    '| what was broken | how often | links in | dispatched | duplicates | lost | people told / owed |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.fault} | ${r.times} | ${r.linksIn} | ${r.dispatched} | ${r.duplicates} | ${r.lost} | ${r.owed === undefined ? '—' : `${r.told} / ${r.owed}`} |`),
  ].join('\n');
  const out = path.join(root, 'docs', 'RELIABILITY.md');
  writeFileSync(
    out,
    `# Reliability\n\nWritten by \`pnpm test:faults\` (tests/e2e/faults): each test breaks the running system on purpose while links flow, then checks that every accepted link (the bot said "queued" or "sent for immediate download") was dispatched, and (where measured) that each person owed word of a dispatched link got it once. Outages run at full length when \`FAULTS_FULL_LENGTH=1\` (this file's run says which); CI runs them shorter, still longer than every client-side retry.\n\nLast run: ${new Date().toISOString()} on Node ${process.version}${env.FAULTS_FULL_LENGTH === '1' ? ', full-length outages' : ', short outages'}.\n\n${table}\n`,
  );
  say(`wrote ${path.relative(root, out)}`);
}

/** `pnpm` is null when DWLD_SKIP_PREPARE says everything is built already. */
async function sandbox(pnpm) {
  if (pnpm) await build(pnpm);
  const processes = sandboxProcesses();
  const { EMULATOR_PORT: port, EMULATOR_STATE_FILE: stateFile } = processes[0].env;
  say(`sandbox: no TELEGRAM_BOT_TOKEN, so dwld talks to the built-in Telegram emulator.`);
  say(`sandbox: open the web chat at http://127.0.0.1:${port}/ (Ctrl-C stops everything)`);
  const shown = stateFile.startsWith(`${root}${path.sep}`) ? path.relative(root, stateFile) : stateFile;
  say(`sandbox: chats are kept in ${shown} (delete it to start afresh; README says how to empty the queue too)`);
  return runProcesses(processes);
}

/**
 * The steps every command starts with: the pinned pnpm, the dependencies, Redis and PostgreSQL
 * answering, and (unless `migrateDb` is false) the database created and migrated.
 * With `skippable` and DWLD_SKIP_PREPARE=1 (a test run that has installed, migrated and built
 * already), only the check that Redis and PostgreSQL answer is left; it returns null then.
 */
async function prepare(databaseUrl, { migrateDb = true, skippable = false } = {}) {
  if (skippable && env.DWLD_SKIP_PREPARE === '1') {
    await ensureServicesAnswer(databaseUrl);
    return null;
  }
  const pnpm = await ensurePnpm();
  await install(pnpm);
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
      await ensureChromium();
      await run(pnpm, ['exec', 'turbo', 'run', 'test', ...rest]);
      return 0;
    }
    case 'faults': {
      const pnpm = await prepare(env.TEST_DATABASE_URL);
      await build(pnpm);
      const figures = path.join(root, 'tests', 'e2e', '.faults', 'figures.jsonl');
      rmSync(figures, { force: true });
      await run(pnpm, ['--filter', '@dwld/e2e', 'run', 'test:faults', ...rest]);
      writeReliabilityReport(figures);
      return 0;
    }
    case 'bench': {
      // Benchmarks clone the same migrated template the tests use.
      const pnpm = await prepare(env.TEST_DATABASE_URL);
      await build(pnpm);
      await run(process.execPath, [path.join(root, 'bench', 'dist', 'run.js'), ...rest]);
      return 0;
    }
    case 'migrate': {
      await prepare(env.DATABASE_URL);
      return 0;
    }
    case 'import-go': {
      // The Go bot's links.db into dwld's database (packages/go-import), migrated first; its exit code.
      const pnpm = await prepare(env.DATABASE_URL, { skippable: true });
      if (pnpm) await build(pnpm, '@dwld/go-import');
      // A relative path means where `pnpm import:go` was typed (INIT_CWD), not the repository root it runs in.
      const args = rest.map((arg) => (arg.startsWith('-') ? arg : path.resolve(env.INIT_CWD ?? process.cwd(), arg)));
      const { status } = await run(process.execPath, [path.join(root, 'packages', 'go-import', 'dist', 'main.js'), ...args], { allowFailure: true });
      return status ?? 1;
    }
    case 'events-replay': {
      // `pnpm events:replay <stream> [--dry-run]`: a stream's dead-lettered entries back on it (packages/events).
      const pnpm = await prepare(env.DATABASE_URL, { migrateDb: false, skippable: true });
      if (pnpm) await build(pnpm, '@dwld/events');
      const { status } = await run(process.execPath, [path.join(root, 'packages', 'events', 'dist', 'replay-main.js'), ...rest], { allowFailure: true });
      return status ?? 1;
    }
    case 'start': {
      const only = rest[0];
      if (only && !SERVICES.includes(only)) throw new StepFailed(`unknown service "${only}" (one of: ${SERVICES.join(', ')})`);
      // Starting one service applies nothing by surprise; `start` of everything migrates first.
      const pnpm = await prepare(env.DATABASE_URL, { migrateDb: !only, skippable: true });
      if (!only && !env.TELEGRAM_BOT_TOKEN) return sandbox(pnpm);
      const names = only ? [only] : SERVICES;
      if (pnpm) for (const name of names) await build(pnpm, `./services/${name}`);
      return runProcesses(names.map((name) => ({ name, main: serviceMain(name) })));
    }
    case 'sandbox': {
      return sandbox(await prepare(env.DATABASE_URL, { skippable: true }));
    }
    default:
      process.stderr.write('usage: node scripts/dwld.mjs test [turbo args] | migrate | start [registry|scheduler|bot-gateway] | sandbox | bench [scenario…] [--quick] | faults | import-go <links.db> [--dry-run] | events-replay <stream> [--dry-run]\n');
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

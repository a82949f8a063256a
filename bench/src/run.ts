// `pnpm bench [scenario…] [--quick]`: runs each scenario three times on the real parts and
// writes bench/RESULTS.md (machine, date, medians, ratio to the baseline measured in the same run),
// replacing only the sections of the scenarios run.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchEventBus } from './event-bus';
import { describeMachine, median } from './machine';
import { harnessCeiling, INTAKE_MODES, INTAKE_WARM_BURSTS, runIntake, TELEGRAM_MAX_PER_SECOND, TELEGRAM_PER_CHAT_PER_SECOND, WARMUP_USERS, WEBHOOK_CONNECTIONS, type IntakeFigures, type IntakeMode } from './intake';
import { idleRss, SERVICES } from './memory';
import { mergeResults, SECTIONS } from './results-file';
import { bareCalls, type BareCallFigures, bareSql, CLAIM_BATCH, CONCURRENCY, DOWNLOADERS, FakeDownloaders, goDesignLags, runDispatch, type DispatchFigures } from './pipeline';

const RUNS = 3;
const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const f3 = (n: number) => n.toFixed(3);
const mib = (n: number) => `${n.toFixed(0)} MiB`;
const log = (line: string) => process.stdout.write(`${line}\n`);

/** Peaks under load from the pipeline and intake scenarios, for the memory table. */
const schedulerPeaks: number[] = [];
const registryPeaks: number[] = [];
const gatewayPeaks: number[] = [];

async function pipelineSection(quick: boolean, runs: number): Promise<string> {
  const n = quick ? 2_000 : 20_000;
  const pacedSeconds = quick ? 2 : 10;
  // Dispatched by each run's scheduler processes before the measured links, not counted.
  const warmUpLinks = quick ? 1_000 : 10_000;
  const rate = 1_000;
  const downloaders = await FakeDownloaders.start(DOWNLOADERS);
  try {
    // Each run measures the baselines and the pipeline back to back, and the ratio is taken
    // per run: this machine's speed drifts over minutes (its cores are shared), so a pipeline
    // run is compared with the baselines measured around it.
    const callsA: number[] = [];
    const bare: BareCallFigures[] = [];
    const seqMs: number[] = [];
    const sqlB: number[] = [];
    const burst = new Map<number, DispatchFigures[]>([[1, []], [3, []]]);
    const paced = new Map<number, DispatchFigures[]>([[1, []], [3, []]]);
    const ratios: number[] = [];
    // Not measured: the servers' process is new, and its first ~20,000 calls cost it about
    // twice what later ones do (JIT), which made the first run's (a) the slowest.
    const warmUp = await bareCalls(downloaders, n, CONCURRENCY);
    log(`pipeline warm-up (not counted): calls ${f0(warmUp.rate)}/s`);
    for (let run = 0; run < runs; run++) {
      // Baselines (b), and the per-call latency at concurrency 1 for (c).
      seqMs.push((await bareCalls(downloaders, Math.min(n, 2_000), 1)).meanMs);
      sqlB.push(await bareSql(n));
      log(`pipeline baselines run ${run + 1}: sequential ${f3(seqMs[run]!)} ms/call, sql ${f0(sqlB[run]!)} rows/s`);
      for (const schedulers of [1, 3]) {
        // (a) right before and right after the 3-scheduler burst, and their mean: this
        // machine's speed drifts by a quarter within a minute, so one (a) taken earlier
        // could land in a faster or slower stretch than the burst it is compared with.
        const before = schedulers === 3 ? await bareCalls(downloaders, n, CONCURRENCY) : undefined;
        const f = await runDispatch(downloaders, schedulers, n, undefined, warmUpLinks);
        const after = schedulers === 3 ? await bareCalls(downloaders, n, CONCURRENCY) : undefined;
        if (before && after) {
          bare.push(before, after);
          callsA.push((before.rate + after.rate) / 2);
          log(`pipeline baseline (a) run ${run + 1}: calls ${f0(before.rate)}/s before the 3-scheduler burst, ${f0(after.rate)}/s after`);
        }
        burst.get(schedulers)!.push(f);
        schedulerPeaks.push(...f.peakRss);
        registryPeaks.push(f.registryPeakRss);
        log(`pipeline burst schedulers=${schedulers} run ${run + 1}: ${f0(f.rate)} links/s, lag p50/p95/p99 ${f2(f.lagP50)}/${f2(f.lagP95)}/${f2(f.lagP99)} s, dup ${f.duplicates}, lost ${f.lost}, failed ${f.failed}, peak RSS ${f.peakRss.map(mib).join(', ')}`);
        const p = await runDispatch(downloaders, schedulers, rate * pacedSeconds, { ratePerS: rate }, warmUpLinks);
        paced.get(schedulers)!.push(p);
        schedulerPeaks.push(...p.peakRss);
        registryPeaks.push(p.registryPeakRss);
        log(`pipeline paced schedulers=${schedulers} run ${run + 1}: lag p50/p95/p99 ${f3(p.lagP50)}/${f3(p.lagP95)}/${f3(p.lagP99)} s, dup ${p.duplicates}, lost ${p.lost}, failed ${p.failed}`);
      }
      ratios.push(burst.get(3)![run]!.rate / Math.min(callsA[run]!, sqlB[run]!));
      log(`pipeline run ${run + 1}: 3 schedulers ÷ min(a, b) = ${f0(ratios[run]! * 100)}%`);
    }
    const a = median(callsA);
    const b = median(sqlB);
    const callMs = median(seqMs);

    const med = (list: DispatchFigures[], pick: (f: DispatchFigures) => number) => median(list.map(pick));
    const sum = (list: DispatchFigures[], pick: (f: DispatchFigures) => number) => list.reduce((t, f) => t + pick(f), 0);
    const goBurst = goDesignLags(new Array<number>(n).fill(0), callMs);
    const goPaced = goDesignLags(Array.from({ length: rate * pacedSeconds }, (_, i) => (i * 1000) / rate), callMs);
    const ceiling = Math.min(a, b);

    const burstRows = ['| setup | links/s | lag p50 (s) | lag p95 (s) | lag p99 (s) | duplicates | lost | failed | peak RSS per scheduler |', '|---|---|---|---|---|---|---|---|---|'];
    burstRows.push(`| (a) bare SetToQueue, 1 process, concurrency ${CONCURRENCY} (calls/s) | ${f0(a)} | | | | | | | |`);
    burstRows.push(`| (b) bare SQL claim ${CLAIM_BATCH} + DELETE (rows/s) | ${f0(b)} | | | | | | | |`);
    burstRows.push(`| (c) Go design, computed: 71 s tick, sequential calls of ${f3(callMs)} ms | ${f0(goBurst.rate)} | ${f2(goBurst.p50)} | ${f2(goBurst.p95)} | ${f2(goBurst.p99)} | | | | |`);
    for (const [schedulers, list] of burst) {
      burstRows.push(`| dwld, ${schedulers} scheduler${schedulers > 1 ? 's' : ''} | ${f0(med(list, (f) => f.rate))} | ${f2(med(list, (f) => f.lagP50))} | ${f2(med(list, (f) => f.lagP95))} | ${f2(med(list, (f) => f.lagP99))} | ${sum(list, (f) => f.duplicates)} | ${sum(list, (f) => f.lost)} | ${sum(list, (f) => f.failed)} | ${mib(median(list.flatMap((f) => f.peakRss)))} (max ${mib(Math.max(...list.flatMap((f) => f.peakRss)))}) |`);
    }
    const rate3 = med(burst.get(3)!, (f) => f.rate);
    const ratio = median(ratios);

    const pacedRows = ['| setup | lag p50 (s) | lag p95 (s) | lag p99 (s) | p99 ≤ 1 s | duplicates | lost | failed |', '|---|---|---|---|---|---|---|---|'];
    pacedRows.push(`| Go design, computed | ${f2(goPaced.p50)} | ${f2(goPaced.p95)} | ${f2(goPaced.p99)} | ${goPaced.p99 <= 1 ? '✓' : '✗'} | | | |`);
    for (const [schedulers, list] of paced) {
      const p99 = med(list, (f) => f.lagP99);
      pacedRows.push(`| dwld, ${schedulers} scheduler${schedulers > 1 ? 's' : ''} | ${f3(med(list, (f) => f.lagP50))} | ${f3(med(list, (f) => f.lagP95))} | ${f3(p99)} | ${p99 <= 1 ? '✓' : '✗'} | ${sum(list, (f) => f.duplicates)} | ${sum(list, (f) => f.lost)} | ${sum(list, (f) => f.failed)} |`);
    }
    log(`pipeline: 3 schedulers ${f0(rate3)}/s vs min(a, b) ${f0(ceiling)}/s; ratio per run ${ratios.map((r) => `${f0(r * 100)}%`).join(', ')}, median ${f0(ratio * 100)}%`);

    // Where the CPU goes: on a machine kept busy, a rate is about the cores' time ÷ CPU per link.
    const cpuRows = [
      '| setup | per second | whole machine CPU per link (ms) | the dispatching process(es) | the downloaders\' process | the rest: PostgreSQL, Redis, the bench (its links and events) | machine busy |',
      '|---|---|---|---|---|---|---|',
    ];
    const bareMachine = median(bare.map((f) => f.cpuMsPerCall.machine));
    const bareClient = median(bare.map((f) => f.cpuMsPerCall.client));
    const bareServer = median(bare.map((f) => f.cpuMsPerCall.downloaders));
    cpuRows.push(`| (a) bare SetToQueue | ${f0(a)} | ${f3(bareMachine)} | ${f3(bareClient)} (the bare client) | ${f3(bareServer)} | ${f3(Math.max(0, bareMachine - bareClient - bareServer))} | ${f0(median(bare.map((f) => f.machineBusy)) * 100)}% |`);
    for (const [schedulers, list] of burst) {
      const machine = med(list, (f) => f.cpuMsPerLink.machine);
      const sched = med(list, (f) => f.cpuMsPerLink.schedulers);
      const server = med(list, (f) => f.cpuMsPerLink.downloaders);
      cpuRows.push(`| dwld, ${schedulers} scheduler${schedulers > 1 ? 's' : ''} | ${f0(med(list, (f) => f.rate))} | ${f3(machine)} | ${f3(sched)} | ${f3(server)} | ${f3(Math.max(0, machine - sched - server))} | ${f0(med(list, (f) => f.machineBusy) * 100)}% |`);
    }
    const machine3 = med(burst.get(3)!, (f) => f.cpuMsPerLink.machine);

    return [
      `## Dispatch pipeline (scenario 1)`,
      ``,
      `**Burst:** ${n} links due at once. Median of ${runs} run${runs > 1 ? 's' : ''} per row; duplicates, lost and failed are summed over the runs.`,
      ``,
      burstRows.join('\n'),
      ``,
      `Ratio: 3 schedulers ÷ min(a, b), taken in each run ((a) there is the mean of the runs right before and right after its 3-scheduler burst): ${ratios.map((r) => `${f0(r * 100)}%`).join(', ')}; median **${f0(ratio * 100)}%** (target ≥ 50% ${ratio >= 0.5 ? '✓' : '✗'}). The medians in the table: ${f0(rate3)} links/s ÷ ${f0(ceiling)}/s.`,
      ``,
      `**Where the CPU goes** (medians of the same runs; CPU time from /proc, 10 ms ticks, from the first call or the links' insert until the last call, or until the bench saw the last link dispatched (it looks every 200 ms)):`,
      ``,
      cpuRows.join('\n'),
      ``,
      `Where (a) and the pipeline both keep this machine's ${os.cpus().length} cores busy (last column), each rate is about the cores' time ÷ its whole machine CPU per link, and the ratio is about (a)'s CPU per call ÷ the pipeline's per link: ${f3(bareMachine)} ÷ ${f3(machine3)} = ${f0((bareMachine / machine3) * 100)}%. For 50% here, a dispatched link (claim, call, record, announce, and PostgreSQL's and Redis's share) could cost at most twice a bare call, ${f3(2 * bareMachine)} ms of CPU, all processes together. Replicas add cores, not speed per link: on a machine with a core per scheduler, PostgreSQL and the downloaders, the three run side by side.`,
      ``,
      `**Paced:** ${rate * pacedSeconds} links with send_at spread at ${rate}/s over ${pacedSeconds} s (offered load ${rate} due links/s); lag = dispatched_at − send_at.`,
      ``,
      pacedRows.join('\n'),
      ``,
      `What was measured and simplified:`,
      ``,
      `- **Intake simplified:** the gateway's intake is not used. The links rows are written directly in one SQL batch (send_at = now() for the burst, now() + 1 s + i ms for the paced run), then one \`link.added\` event per link is published with EventPublisher (batches of 500), as intake would.`,
      `- Schedulers: the built services/scheduler/dist/main.js, each its own process, with DISPATCH_CONCURRENCY=${CONCURRENCY}, CLAIM_BATCH_SIZE=${CLAIM_BATCH}, other settings at their defaults (SCHEDULER_INTERVAL_S=1). They are started and ready, then dispatch ${warmUpLinks} warm-up links (not counted: a fresh process spends its first thousands of links compiling, as (a)'s client would without its warm-up run; the \`dispatches\` table is emptied after them), before the measured links are written.`,
      `- Downloaders: ${DOWNLOADERS} gRPC servers (serveDownloader from @dwld/contract) in one other Node process, answering SetToQueue at once and counting calls per link; registered by inserting rows in \`downloaders\` (allowed_patterns ['*']). Every run uses a fresh database cloned from the migrated template and a fresh Redis prefix.`,
      `- links/s = links dispatched ÷ (last dispatches.dispatched_at − first send_at). Lag from dispatches (dispatched_at − send_at, both database clocks). Duplicates = extra SetToQueue calls for one link at the servers (or extra history rows). Lost = links neither in dispatches nor left in links. Failed = links left marked failed.`,
      `- Peak RSS: the larger of VmRSS sampled every 100 ms and VmHWM from /proc/<pid>/status at the end of the run, per scheduler process.`,
      `- (a) ${n} raw grpc-js SetToQueue calls from one process (a fresh child of the bench each time, after one unmeasured warm-up run of as many calls), ${CONCURRENCY} in flight, measured right before and right after each 3-scheduler burst (the table: the median of each run's mean of the two), round-robin over the same servers (one long-lived client per server). (b) ${n} fresh rows claimed ${CLAIM_BATCH} at a time with the scheduler's own UPDATE … FOR UPDATE SKIP LOCKED query (in a transaction with its SET LOCAL enable_sort = off), then deleted with one DELETE per batch, one connection. (c) computed, not run: a single loop on a fixed 71 s ticker sends every due link one after another, each taking the measured bare per-call latency at concurrency 1 (${f3(callMs)} ms; in-process, local servers, so a lower bound on the real one); lags pooled over 71 ticker phases.`,
    ].join('\n');
  } finally {
    await downloaders.stop();
  }
}

async function intakeSection(quick: boolean, runs: number): Promise<string> {
  const users = quick ? 200 : 1_000;
  const source = sourceOf('services/bot-gateway');
  const ceilings: number[] = [];
  const figures = new Map<IntakeMode, IntakeFigures[]>(INTAKE_MODES.map((mode) => [mode, []]));
  const cold = new Map<IntakeMode, IntakeFigures>();
  const everyBurst: IntakeFigures[] = [];
  const loads: number[] = [];
  const warmBursts = quick ? 1 : INTAKE_WARM_BURSTS;
  for (let run = 0; run < runs; run++) {
    ceilings.push(await harnessCeiling(users));
    log(`intake harness ceiling run ${run + 1}: ${f0(ceilings[run]!)} updates/s`);
  }
  for (const mode of INTAKE_MODES) {
    await runIntake(mode, {
      users,
      warmBursts,
      runs,
      onBurst: (f, burst) => {
        const measured = burst >= warmBursts;
        everyBurst.push(f);
        if (burst === 0) cold.set(mode, f);
        if (measured) figures.get(mode)!.push(f);
        // One process per mode: its peak over every burst is the last burst's.
        if (burst === warmBursts + runs - 1) gatewayPeaks.push(f.peakRss);
        loads.push(os.loadavg()[0]!);
        log(
          `intake ${mode} burst ${burst + 1}${measured ? ` (run ${burst - warmBursts + 1})` : ' (warm-up, not measured)'}: ${f0(f.rate)} updates/s, update→stored p50/p99 ${f0(f.lagP50)}/${f0(f.lagP99)} ms, stored ${f.stored}/${f.users}, ` +
            `sends max ${f.maxPerSecond}/s overall, ${f.maxPerChatPerSecond}/s per chat, replied ${f.replied}/${f.users} (+${f.extraReplies} extra, ${f.refusedCalls} refused) after ${f2(f.repliesDoneS)} s, ` +
            `webhook retries ${f.webhookRetries}, peak RSS ${mib(f.peakRss)}, gateway CPU ${f2(f.gatewayCpuMsPerUpdate)} ms/update, machine CPU ${f2(f.machineCpuMsPerUpdate)} ms/update, machine ${f0(f.machineBusy * 100)}% busy, load ${f2(loads[loads.length - 1]!)}`,
        );
      },
    });
  }
  const med = (list: IntakeFigures[], pick: (f: IntakeFigures) => number) => median(list.map(pick));
  const label: Record<IntakeMode, string> = {
    polling: 'long polling (getUpdates, up to 100 updates per call)',
    webhook: `webhook, up to ${WEBHOOK_CONNECTIONS} updates in flight (Telegram's default max_connections)`,
  };
  const rows = [
    '| mode | updates/s (first injected → last stored) | update → stored p50 (ms) | p99 (ms) | stored | gateway CPU per update (ms) | whole machine CPU per update (ms) | machine CPU busy | most sends in any 1 s, all chats | most sends in any 1 s, one chat | people replied to | last reply after (s) | replies/s | gateway peak RSS |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  rows.push(`| harness ceiling: the emulator's webhook delivery to a server answering at once (no gateway) | ${f0(median(ceilings))} | | | | | | | | | | | | |`);
  const row = (what: string, list: IntakeFigures[]) => {
    const stored = list.reduce((t, f) => t + f.stored, 0);
    const replied = list.reduce((t, f) => t + f.replied, 0);
    const offered = list.reduce((t, f) => t + f.users, 0);
    const done = med(list, (f) => f.repliesDoneS);
    rows.push(
      `| ${what} | ${f0(med(list, (f) => f.rate))} | ${f0(med(list, (f) => f.lagP50))} | ${f0(med(list, (f) => f.lagP99))} | ${stored}/${offered} | ` +
        `${f2(med(list, (f) => f.gatewayCpuMsPerUpdate))} | ${f2(med(list, (f) => f.machineCpuMsPerUpdate))} | ${f0(med(list, (f) => f.machineBusy) * 100)}% | ` +
        `${Math.max(...list.map((f) => f.maxPerSecond))} | ${Math.max(...list.map((f) => f.maxPerChatPerSecond))} | ${replied}/${offered} | ${f2(done)} | ${f1(users / done)} | ${mib(med(list, (f) => f.peakRss))} |`,
    );
  };
  for (const [mode, list] of figures) row(label[mode], list);
  for (const [mode, first] of cold) row(`${mode === 'polling' ? 'long polling' : 'webhook'}: the first burst after the gateway started (not counted: JIT still compiling)`, [first]);
  const webhookRate = med(figures.get('webhook')!, (f) => f.rate);
  // The limits and the replies hold for every burst, the unmeasured ones too.
  const all = everyBurst;
  const maxOverall = Math.max(...all.map((f) => f.maxPerSecond));
  const maxChat = Math.max(...all.map((f) => f.maxPerChatPerSecond));
  const everyone = all.every((f) => f.replied === f.users && f.stored === f.users);
  const extra = all.reduce((t, f) => t + f.extraReplies, 0);
  const refused = all.reduce((t, f) => t + f.refusedCalls, 0);
  const retries = all.reduce((t, f) => t + f.webhookRetries, 0);
  const tick = (ok: boolean) => (ok ? '✓' : '✗');
  log(`intake: webhook ${f0(webhookRate)} updates/s; sends at most ${maxOverall}/s overall, ${maxChat}/s per chat; everyone replied: ${everyone}`);

  return [
    `## Intake (scenario 2)`,
    ``,
    `A burst: ${users} distinct people each send one link at (nearly) the same moment. One gateway process per mode takes ${warmBursts} unmeasured burst${warmBursts > 1 ? 's' : ''}, then ${runs} measured one${runs > 1 ? 's' : ''}, each of new people, each once every reply of the one before is out. Median of the ${runs} measured bursts per row; the first burst has a row of its own. The most sends in a second are the maximum over the measured bursts, stored and replied are summed over them.`,
    ``,
    rows.join('\n'),
    ``,
    `Targets:`,
    ``,
    `- intake ≥ 1,000 updates/s in webhook mode (${WEBHOOK_CONNECTIONS} in flight): **${f0(webhookRate)}/s** ${tick(webhookRate >= 1000)}`,
    `- the outbox never above ${TELEGRAM_MAX_PER_SECOND} sends/s overall: **${maxOverall}** ${tick(maxOverall <= TELEGRAM_MAX_PER_SECOND)}; nor above ${TELEGRAM_PER_CHAT_PER_SECOND}/s in one chat: **${maxChat}** ${tick(maxChat <= TELEGRAM_PER_CHAT_PER_SECOND)}`,
    `- every link stored and every person replied to, in every burst (unmeasured ones too; they also count for the two limits above): ${tick(everyone)} (extra replies: ${extra}, calls refused by the emulator: ${refused}, webhook deliveries retried: ${retries})`,
    ``,
    `What was measured and simplified:`,
    ``,
    `- Gateway: the built services/bot-gateway/dist/main.js (${source}) in its own process (NODE_ENV=production, LOG_LEVEL=warn), on a fresh database cloned from the migrated template and a fresh Redis prefix per mode (the bursts of one mode share them: every burst has its own people), the outbox limiter at its defaults (TELEGRAM_MAX_PER_SECOND=${TELEGRAM_MAX_PER_SECOND}, TELEGRAM_CHAT_INTERVAL_S=1), other settings at their defaults. The people are let in by ALLOWED_IDS (every burst's ids: no database lookup per update). No scheduler and no downloaders: links are stored (DISPATCH_DELAY_S 60 s away) and each person gets the "queued" reply with its keyboard, one sendMessage per person.`,
    `- Telegram: the in-repo emulator (@dwld/telegram-emulator) in the bench process. Each person is a FakeUser; sendText puts the update in the bot's queue, and that moment (Date.now() in the bench) is the update's time. Before the first burst, ${WARMUP_USERS} other people send a link each and the run waits for their replies (connection pools, first queries); their links and replies are left out of the figures. Then the ${warmBursts} unmeasured burst${warmBursts > 1 ? 's' : ''}: a fresh Node process spends its first thousands of updates compiling its hot paths (in a first burst here about half of the gateway's CPU went to V8's optimizing compiler threads), and a gateway in service has long been past that; the first burst's row shows the cold figures. Long polling: the gateway's own getUpdates loop (telegraf, batches of up to 100 handled concurrently).`,
    `- Webhook: the emulator delivers straight to the gateway's WEBHOOK_URL as Telegram does: up to max_connections requests at once (default ${WEBHOOK_CONNECTIONS}; the gateway sets none) over kept-alive connections, one chat's updates in order (here every person is their own chat), a non-2xx retried. The "harness ceiling" row is the same delivery to a server answering at once in place of the gateway (the most the harness can offer).`,
    `- Stored: links.created_at (set when the row is inserted, ms precision; same host clock as the bench). updates/s = links stored ÷ (last created_at − first update's time). Lag per person = their link's created_at − their update's time; under a burst it includes the wait behind the others.`,
    `- Sends: every Bot API call the emulator received from the gateway after the burst, by the time it arrived (CallRecord.at), except getUpdates and setup calls (getMe, setWebhook, setMyCommands…); here they are all sendMessage. Each person gets one reply, so the one-chat figure only shows that no chat got two sends within a second; a chat's pace over several messages is not exercised here. "Any 1 s" is a sliding window over those times. Replies are counted per chat (sendMessage answered ok); the run waits until every person has one (or 15 s with no new one), then 1.5 s more for strays. replies/s = people ÷ (last reply − first update's time). Gateway peak RSS as in the memory scenario.`,
    `- CPU, from the burst until the last link was stored: the gateway process's user + system time (/proc/<pid>/stat, 10 ms ticks) ÷ links stored; the whole machine's busy CPU time (all cores and processes, /proc/stat) ÷ links stored; and the share of the machine's CPU time that was not idle. The machine's figure minus the gateway's is what PostgreSQL, Redis and the harness spend per update: at 1,000 updates/s that part alone needs that many ms × 1,000 of CPU per second.`,
    `- The machine is shared: PostgreSQL, Redis, the bench (emulator) and the gateway on ${os.cpus().length} cores, with whatever else runs there. 1-minute load average after each burst: median ${f2(median(loads))}, max ${f2(Math.max(...loads))}.`,
  ].join('\n');
}

/** The commit a directory was built from, as far as git knows, and whether it had uncommitted changes. */
function sourceOf(dir: string): string {
  try {
    const cwd = path.resolve(__dirname, '../..');
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', dir], { cwd, encoding: 'utf8' }).trim() !== '';
    return `source at commit ${commit}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'source commit unknown';
  }
}

async function memorySection(quick: boolean, runs: number): Promise<string> {
  const idleMs = quick ? 2_000 : 5_000;
  const samples: Record<string, number[]> = {};
  for (let run = 0; run < runs; run++) {
    const rss = await idleRss(idleMs);
    for (const [name, value] of Object.entries(rss)) (samples[name] ??= []).push(value);
    log(`memory run ${run + 1}: ${Object.entries(rss).map(([k, v]) => `${k} ${mib(v)}`).join(', ')}`);
  }
  const rows = ['| process | RSS (median) | target < 150 MB |', '|---|---|---|'];
  const ok = (v: number) => (v * 2 ** 20 < 150e6 ? '✓' : '✗');
  for (const name of SERVICES) rows.push(`| ${name}, idle | ${mib(median(samples[name]!))} | ${ok(median(samples[name]!))} |`);
  const peakRow = (what: string, peaks: number[], scenario: string) => {
    if (peaks.length === 0) return `| ${what} | not measured: run the ${scenario} scenario in the same invocation | |`;
    const max = Math.max(...peaks);
    return `| ${what} (median / max over ${peaks.length} processes) | ${mib(median(peaks))} / ${mib(max)} | ${ok(max)} |`;
  };
  rows.push(peakRow('registry, peak beside the pipeline load', registryPeaks, 'pipeline'));
  rows.push(peakRow('scheduler, peak under the pipeline load', schedulerPeaks, 'pipeline'));
  rows.push(peakRow('bot-gateway, peak under the intake burst', gatewayPeaks, 'intake'));
  return [
    `## Memory (scenario 4)`,
    ``,
    `Median of ${runs} run${runs > 1 ? 's' : ''}. MiB = 2^20 bytes (150 MB ≈ 143 MiB).`,
    ``,
    rows.join('\n'),
    ``,
    `- Idle: registry, scheduler and bot-gateway (their built dist/main.js, NODE_ENV=production, LOG_LEVEL=warn) started on a fresh database and Redis prefix, each waited for until /readyz answers 200, then left ${idleMs / 1000} s with nothing to do; VmRSS read from /proc/<pid>/status. The gateway long-polls the in-repo Telegram emulator (@dwld/telegram-emulator) with a made-up token; no downloaders are registered.`,
    `- Peak: the scheduler processes of the dispatch pipeline scenario (burst and paced runs) and the registry running beside them (health-checking the downloaders every HEALTH_INTERVAL_S); the gateway of the intake scenario (one process per mode, its peak over every burst); see there.`,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.filter((a) => !a.startsWith('--'));
  const unknown = only.filter((name) => !SECTIONS.some((s) => s.scenario === name));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')} (known: ${SECTIONS.map((s) => s.scenario).join(', ')})`);
  const wanted = (name: string) => only.length === 0 || only.includes(name);
  const sections = new Map<string, string>();
  const add = (text: string) => sections.set(text.split('\n', 1)[0]!.trim(), text);

  const runs = quick ? 1 : RUNS;
  if (wanted('pipeline')) add(await pipelineSection(quick, runs));
  if (wanted('intake')) add(await intakeSection(quick, runs));
  if (wanted('memory')) add(await memorySection(quick, runs));

  if (wanted('event-bus')) {
    const events = quick ? 5_000 : 50_000;
    const rows: string[] = ['| consumers | bare XADD+XREADGROUP+XACK (events/s) | dwld event bus (events/s) | ratio | target |', '|---|---|---|---|---|'];
    for (const consumers of [1, 3]) {
      const figures = [];
      for (let run = 0; run < RUNS; run++) figures.push(await benchEventBus(events, consumers));
      const bareRate = median(figures.map((f) => f.bareEventsPerSecond));
      const libRate = median(figures.map((f) => f.libraryEventsPerSecond));
      // Each run measures both back to back: the ratio is taken per run (machine drift cancels), then the median.
      const ratios = figures.map((f) => f.libraryEventsPerSecond / f.bareEventsPerSecond);
      const ratio = median(ratios);
      const pct = (r: number) => `${(r * 100).toFixed(1)}%`;
      rows.push(`| ${consumers} | ${bareRate.toFixed(0)} | ${libRate.toFixed(0)} | ${pct(ratio)} (runs ${ratios.map(pct).join(', ')}) | ≥ 70% ${ratio >= 0.7 ? '✓' : '✗'} |`);
      process.stdout.write(`event-bus consumers=${consumers}: bare ${bareRate.toFixed(0)}/s, library ${libRate.toFixed(0)}/s (${pct(ratio)}; runs ${ratios.map(pct).join(', ')})\n`);
    }
    add(`## Event bus (scenario 3)\n\n${events} events of link.added size through one consumer group, acknowledged; median of ${RUNS} runs (the ratio: the median of each run's library ÷ bare, measured back to back); both sides in one Node process against the same Redis.\n\n${rows.join('\n')}`);
  }

  // Only the sections of the scenarios run are replaced; the others stay as they were.
  const out = path.resolve(__dirname, '../RESULTS.md');
  const existing = existsSync(out) ? readFileSync(out, 'utf8') : undefined;
  writeFileSync(out, mergeResults(existing, sections, { date: new Date().toISOString(), quick, machine: describeMachine() }));
  process.stdout.write(`wrote ${out} (${[...sections.keys()].join(', ')})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

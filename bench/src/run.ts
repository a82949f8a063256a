// `pnpm bench [scenario…] [--quick]`: runs each scenario three times on the real parts and
// writes bench/RESULTS.md (machine, date, medians, ratio to the baseline measured in the same run).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchEventBus } from './event-bus';
import { describeMachine, median } from './machine';
import { idleRss, SERVICES } from './memory';
import { bareCalls, bareSql, CLAIM_BATCH, CONCURRENCY, DOWNLOADERS, FakeDownloaders, goDesignLags, runDispatch, type DispatchFigures } from './pipeline';

const RUNS = 3;
const f0 = (n: number) => n.toFixed(0);
const f2 = (n: number) => n.toFixed(2);
const f3 = (n: number) => n.toFixed(3);
const mib = (n: number) => `${n.toFixed(0)} MiB`;
const log = (line: string) => process.stdout.write(`${line}\n`);

/** Scheduler peaks from the pipeline scenario, for the memory table. */
const schedulerPeaks: number[] = [];

async function pipelineSection(quick: boolean, runs: number): Promise<string> {
  const n = quick ? 2_000 : 20_000;
  const pacedSeconds = quick ? 2 : 10;
  const rate = 1_000;
  const downloaders = await FakeDownloaders.start(DOWNLOADERS);
  try {
    // Baselines (a) and (b), and the per-call latency at concurrency 1 for (c).
    const callsA: number[] = [];
    const seqMs: number[] = [];
    const sqlB: number[] = [];
    for (let run = 0; run < runs; run++) {
      callsA.push((await bareCalls(downloaders.ports, n, CONCURRENCY)).rate);
      seqMs.push((await bareCalls(downloaders.ports, Math.min(n, 2_000), 1)).meanMs);
      sqlB.push(await bareSql(n));
      log(`pipeline baselines run ${run + 1}: calls ${f0(callsA[run]!)}/s, sequential ${f3(seqMs[run]!)} ms/call, sql ${f0(sqlB[run]!)} rows/s`);
    }
    const a = median(callsA);
    const b = median(sqlB);
    const callMs = median(seqMs);

    const burst = new Map<number, DispatchFigures[]>();
    const paced = new Map<number, DispatchFigures[]>();
    for (const schedulers of [1, 3]) {
      burst.set(schedulers, []);
      paced.set(schedulers, []);
      for (let run = 0; run < runs; run++) {
        const f = await runDispatch(downloaders, schedulers, n);
        burst.get(schedulers)!.push(f);
        schedulerPeaks.push(...f.peakRss);
        log(`pipeline burst schedulers=${schedulers} run ${run + 1}: ${f0(f.rate)} links/s, lag p50/p95/p99 ${f2(f.lagP50)}/${f2(f.lagP95)}/${f2(f.lagP99)} s, dup ${f.duplicates}, lost ${f.lost}, failed ${f.failed}, peak RSS ${f.peakRss.map(mib).join(', ')}`);
        const p = await runDispatch(downloaders, schedulers, rate * pacedSeconds, { ratePerS: rate });
        paced.get(schedulers)!.push(p);
        schedulerPeaks.push(...p.peakRss);
        log(`pipeline paced schedulers=${schedulers} run ${run + 1}: lag p50/p95/p99 ${f3(p.lagP50)}/${f3(p.lagP95)}/${f3(p.lagP99)} s, dup ${p.duplicates}, lost ${p.lost}, failed ${p.failed}`);
      }
    }
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
    const ratio = rate3 / ceiling;

    const pacedRows = ['| setup | lag p50 (s) | lag p95 (s) | lag p99 (s) | p99 ≤ 1 s | duplicates | lost | failed |', '|---|---|---|---|---|---|---|---|'];
    pacedRows.push(`| Go design, computed | ${f2(goPaced.p50)} | ${f2(goPaced.p95)} | ${f2(goPaced.p99)} | ${goPaced.p99 <= 1 ? '✓' : '✗'} | | | |`);
    for (const [schedulers, list] of paced) {
      const p99 = med(list, (f) => f.lagP99);
      pacedRows.push(`| dwld, ${schedulers} scheduler${schedulers > 1 ? 's' : ''} | ${f3(med(list, (f) => f.lagP50))} | ${f3(med(list, (f) => f.lagP95))} | ${f3(p99)} | ${p99 <= 1 ? '✓' : '✗'} | ${sum(list, (f) => f.duplicates)} | ${sum(list, (f) => f.lost)} | ${sum(list, (f) => f.failed)} |`);
    }
    log(`pipeline: 3 schedulers ${f0(rate3)}/s vs min(a, b) ${f0(ceiling)}/s = ${f0(ratio * 100)}%`);

    return [
      `## Dispatch pipeline (scenario 1)`,
      ``,
      `**Burst:** ${n} links due at once. Median of ${runs} run${runs > 1 ? 's' : ''} per row; duplicates, lost and failed are summed over the runs.`,
      ``,
      burstRows.join('\n'),
      ``,
      `Ratio: 3 schedulers ${f0(rate3)} links/s ÷ min(a, b) ${f0(ceiling)}/s = **${f0(ratio * 100)}%** (target ≥ 50% ${ratio >= 0.5 ? '✓' : '✗'}).`,
      ``,
      `**Paced:** ${rate * pacedSeconds} links with send_at spread at ${rate}/s over ${pacedSeconds} s (offered load ${rate} due links/s); lag = dispatched_at − send_at.`,
      ``,
      pacedRows.join('\n'),
      ``,
      `What was measured and simplified:`,
      ``,
      `- **Intake simplified:** the gateway's intake is not used. The links rows are written directly in one SQL batch (send_at = now() for the burst, now() + 1 s + i ms for the paced run), then one \`link.added\` event per link is published with EventPublisher (batches of 500), as intake would.`,
      `- Schedulers: the built services/scheduler/dist/main.js, each its own process, with DISPATCH_CONCURRENCY=${CONCURRENCY}, CLAIM_BATCH_SIZE=${CLAIM_BATCH}, other settings at their defaults (SCHEDULER_INTERVAL_S=1). They are started and ready before the links are written.`,
      `- Downloaders: ${DOWNLOADERS} gRPC servers (serveDownloader from @dwld/contract) in one other Node process, answering SetToQueue at once and counting calls per link; registered by inserting rows in \`downloaders\` (allowed_patterns ['*']). Every run uses a fresh database cloned from the migrated template and a fresh Redis prefix.`,
      `- links/s = links dispatched ÷ (last dispatches.dispatched_at − first send_at). Lag from dispatches (dispatched_at − send_at, both database clocks). Duplicates = extra SetToQueue calls for one link at the servers (or extra history rows). Lost = links neither in dispatches nor left in links. Failed = links left marked failed.`,
      `- Peak RSS: the larger of VmRSS sampled every 100 ms and VmHWM from /proc/<pid>/status at the end of the run, per scheduler process.`,
      `- (a) ${n} raw grpc-js SetToQueue calls from the bench process, ${CONCURRENCY} in flight, round-robin over the same servers (one long-lived client per server). (b) ${n} fresh rows claimed ${CLAIM_BATCH} at a time with the scheduler's own UPDATE … FOR UPDATE SKIP LOCKED query, then deleted with one DELETE per batch, one connection. (c) computed, not run: a single loop on a fixed 71 s ticker sends every due link one after another, each taking the measured bare per-call latency at concurrency 1 (${f3(callMs)} ms; in-process, local servers, so a lower bound on the real one); lags pooled over 71 ticker phases.`,
    ].join('\n');
  } finally {
    await downloaders.stop();
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
  if (schedulerPeaks.length) {
    const max = Math.max(...schedulerPeaks);
    rows.push(`| scheduler, peak under the pipeline load (median / max over ${schedulerPeaks.length} processes) | ${mib(median(schedulerPeaks))} / ${mib(max)} | ${ok(max)} |`);
  } else {
    rows.push(`| scheduler, peak under load | not measured: run the pipeline scenario in the same invocation | |`);
  }
  return [
    `## Memory (scenario 4)`,
    ``,
    `Median of ${runs} run${runs > 1 ? 's' : ''}. MiB = 2^20 bytes (150 MB ≈ 143 MiB).`,
    ``,
    rows.join('\n'),
    ``,
    `- Idle: registry, scheduler and bot-gateway (their built dist/main.js, NODE_ENV=production, LOG_LEVEL=warn) started on a fresh database and Redis prefix, each waited for until /readyz answers 200, then left ${idleMs / 1000} s with nothing to do; VmRSS read from /proc/<pid>/status. The gateway long-polls the in-repo Telegram emulator (@dwld/telegram-emulator) with a made-up token; no downloaders are registered.`,
    `- Peak: the scheduler processes of the dispatch pipeline scenario (burst and paced runs), see there.`,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.filter((a) => !a.startsWith('--'));
  const sections: string[] = [];

  const runs = quick ? 1 : RUNS;
  if (only.length === 0 || only.includes('pipeline')) sections.push(await pipelineSection(quick, runs));
  if (only.length === 0 || only.includes('memory')) sections.push(await memorySection(quick, runs));

  if (only.length === 0 || only.includes('event-bus')) {
    const events = quick ? 5_000 : 50_000;
    const rows: string[] = ['| consumers | bare XADD+XREADGROUP+XACK (events/s) | dwld event bus (events/s) | ratio | target |', '|---|---|---|---|---|'];
    for (const consumers of [1, 3]) {
      const figures = [];
      for (let run = 0; run < RUNS; run++) figures.push(await benchEventBus(events, consumers));
      const bareRate = median(figures.map((f) => f.bareEventsPerSecond));
      const libRate = median(figures.map((f) => f.libraryEventsPerSecond));
      const ratio = libRate / bareRate;
      rows.push(`| ${consumers} | ${bareRate.toFixed(0)} | ${libRate.toFixed(0)} | ${(ratio * 100).toFixed(0)}% | ≥ 70% ${ratio >= 0.7 ? '✓' : '✗'} |`);
      process.stdout.write(`event-bus consumers=${consumers}: bare ${bareRate.toFixed(0)}/s, library ${libRate.toFixed(0)}/s (${(ratio * 100).toFixed(0)}%)\n`);
    }
    sections.push(`## Event bus (scenario 3)\n\n${events} events of link.added size through one consumer group, acknowledged; median of ${RUNS} runs; both sides in one Node process against the same Redis.\n\n${rows.join('\n')}`);
  }

  const out = path.resolve(__dirname, '../RESULTS.md');
  writeFileSync(
    out,
    `# Benchmark results\n\nWritten by \`pnpm bench\`${quick ? ' (--quick: small sizes and one run per figure for the pipeline and memory scenarios, a quick look only)' : ''}. Not tests: nothing here fails a build.\n\n${describeMachine()}\n\n${sections.join('\n\n')}\n\nScenarios still to come (issue 6): intake.\n`,
  );
  process.stdout.write(`wrote ${out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

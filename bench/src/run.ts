// `pnpm bench [scenario…] [--quick]`: runs each scenario three times on the real parts and
// writes bench/RESULTS.md (machine, date, medians, ratio to the baseline measured in the same run).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchEventBus } from './event-bus';
import { describeMachine, median } from './machine';

const RUNS = 3;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.filter((a) => !a.startsWith('--'));
  const sections: string[] = [];

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
    `# Benchmark results\n\nWritten by \`pnpm bench\`${quick ? ' (--quick: small sizes, a quick look only)' : ''}. Not tests: nothing here fails a build.\n\n${describeMachine()}\n\n${sections.join('\n\n')}\n\nScenarios still to come (issue 6): dispatch pipeline, intake, memory.\n`,
  );
  process.stdout.write(`wrote ${out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

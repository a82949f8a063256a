// bench/RESULTS.md: a run replaces the sections of the scenarios it ran and keeps the others
// (each section carries the date it was measured), so running one scenario loses nothing.

/** Every scenario's section, in the order the file lists them. */
export const SECTIONS = [
  { scenario: 'pipeline', heading: '## Dispatch pipeline (scenario 1)' },
  { scenario: 'intake', heading: '## Intake (scenario 2)' },
  { scenario: 'memory', heading: '## Memory (scenario 4)' },
  { scenario: 'event-bus', heading: '## Event bus (scenario 3)' },
] as const;

const STAMP = /^Measured on \S+/;
const FOOTER = /^Scenarios (still to come|not measured yet)/;

export function stampLine(date: string, quick: boolean): string {
  return `Measured on ${date}${quick ? ', --quick' : ''}.`;
}

/** A section's heading, a blank line and its stamp (unless it has one), then its text. */
function stamped(section: string, date: string, quick: boolean): string {
  const [heading, ...rest] = section.trim().split('\n');
  const body = rest.join('\n').trim();
  if (STAMP.test(body)) return `${heading}\n\n${body}`;
  return `${heading}\n\n${stampLine(date, quick)}\n\n${body}`;
}

/** The sections of an existing file by heading (in file order), and the date and --quick of its header. */
export function parseResults(text: string): { date: string | undefined; quick: boolean; sections: Array<{ heading: string; text: string }> } {
  const lines = text.split('\n');
  const firstSection = lines.findIndex((line) => line.startsWith('## '));
  const header = (firstSection < 0 ? lines : lines.slice(0, firstSection)).join('\n');
  const date = /^- date: (\S+)/m.exec(header)?.[1];
  const quick = /\(--quick/.test(header);
  const sections: Array<{ heading: string; text: string }> = [];
  if (firstSection >= 0) {
    let current: string[] = [];
    for (const line of lines.slice(firstSection)) {
      if (line.startsWith('## ') && current.length) {
        sections.push({ heading: current[0]!.trim(), text: current.join('\n').trim() });
        current = [];
      }
      if (!FOOTER.test(line)) current.push(line);
    }
    if (current.length) sections.push({ heading: current[0]!.trim(), text: current.join('\n').trim() });
  }
  return { date, quick, sections };
}

/**
 * The new file: `fresh` sections (this run's, by heading) replace the old ones; old sections
 * of scenarios not run are kept, stamped with their old date when they carry none yet.
 */
export function mergeResults(existing: string | undefined, fresh: Map<string, string>, opts: { date: string; quick: boolean; machine: string }): string {
  const old = existing ? parseResults(existing) : { date: undefined, quick: false, sections: [] };
  const oldDate = old.date ?? 'an unknown date';
  const byHeading = new Map<string, string>();
  for (const section of old.sections) byHeading.set(section.heading, stamped(section.text, oldDate, old.quick));
  for (const [heading, text] of fresh) byHeading.set(heading, stamped(text, opts.date, opts.quick));

  const known: string[] = SECTIONS.map((s) => s.heading);
  const ordered = [...known.filter((h) => byHeading.has(h)), ...[...byHeading.keys()].filter((h) => !known.includes(h))];
  const missing = SECTIONS.filter((s) => !byHeading.has(s.heading)).map((s) => s.scenario);
  return [
    `# Benchmark results`,
    ``,
    'Written by `pnpm bench [scenario…] [--quick]`: a run replaces the sections of the scenarios it ran and keeps the others, so each section says when it was measured (`--quick`: small sizes and one run per figure, a quick look only). The machine below is the one of the latest run; the date is when this file was last written. Not tests: nothing here fails a build.',
    ``,
    opts.machine,
    ``,
    ordered.map((h) => byHeading.get(h)!).join('\n\n'),
    ...(missing.length ? [``, `Scenarios not measured yet: ${missing.join(', ')}.`] : []),
    ``,
  ].join('\n');
}

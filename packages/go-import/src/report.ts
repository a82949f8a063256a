import type { ApplyOutcome } from './apply';
import type { ImportPlan, Note, Section, Skipped } from './plan';

/** Skipped rows listed per reason before the rest are only counted. */
const LISTED_PER_REASON = 50;
/** Rows named per grouped note before the rest are only counted. */
const NAMED_PER_NOTE = 10;

/** What an import did (or, dry, would do), for a person reading a terminal. */
export function formatReport(file: string, plan: ImportPlan, outcome: ApplyOutcome): string {
  const dry = outcome.dryRun;
  const lines: string[] = [];
  lines.push(`Go bot database ${file}: ${plan.variant}`);
  if (dry) lines.push('Dry run: nothing is written.');
  lines.push('');

  const skipped = [...plan.skipped, ...outcome.skipped];
  const section = (name: Section, title: string, done: number, verb: string, wouldVerb: string) => {
    const mine = skipped.filter((s) => s.section === name);
    lines.push(`${title}: ${done} ${dry ? wouldVerb : verb}, ${mine.length} skipped`);
    return mine;
  };

  const linkSkips = section('links', 'Links', outcome.links.length, 'imported', 'would be imported');
  if (plan.tables.links === undefined) lines.push('  (no links table)');
  lines.push(...listSkipped(linkSkips));

  const downloaderSkips = section('downloaders', 'Downloaders', outcome.downloaders.length, 'imported', 'would be imported');
  if (plan.tables.downloaders === undefined) lines.push('  (no downloaders table)');
  for (const d of outcome.downloaders) lines.push(`  ${dry ? 'would import' : 'imported'}: ${d.name} at ${d.host}:${d.port} for ${d.patterns.join(', ')}`);
  lines.push(...listSkipped(downloaderSkips));

  const deletionSkips = section('deletions', 'Deletions', outcome.deletions.length, 'scheduled', 'would be scheduled');
  if (plan.tables.to_delete === undefined) lines.push('  (no to_delete table in this version of the Go bot)');
  else if (outcome.deletions.length > 0) lines.push(`  the bot's messages the Go bot meant to delete, deleted by dwld's gateway when their time comes`);
  lines.push(...listSkipped(deletionSkips));

  if (plan.notes.length > 0) {
    lines.push('', 'Notes:');
    lines.push(...groupNotes(plan.notes).map((line) => `  ${line}`));
  }
  lines.push('');
  lines.push(dry ? 'Dry run done: run again without --dry-run to import.' : 'Done. Running it again changes nothing.');
  return `${lines.join('\n')}\n`;
}

/** Skipped rows grouped by reason, counted, each listed briefly. */
function listSkipped(skipped: readonly Skipped[]): string[] {
  const byReason = new Map<string, Skipped[]>();
  for (const s of skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s]);
  const lines: string[] = [];
  for (const [reason, rows] of byReason) {
    lines.push(`  skipped, ${reason} (${rows.length}):`);
    for (const row of rows.slice(0, LISTED_PER_REASON)) lines.push(`    ${row.source}: ${row.what}`);
    if (rows.length > LISTED_PER_REASON) lines.push(`    … and ${rows.length - LISTED_PER_REASON} more`);
  }
  return lines;
}

/** Notes with the same text said once, naming what they are about. */
function groupNotes(notes: readonly Note[]): string[] {
  const byText = new Map<string, string[]>();
  for (const note of notes) byText.set(note.text, [...(byText.get(note.text) ?? []), note.about]);
  return [...byText].map(([text, abouts]) => {
    if (abouts.length === 1) return `${abouts[0]}: ${text}`;
    const named = abouts.slice(0, NAMED_PER_NOTE).join(', ');
    const more = abouts.length > NAMED_PER_NOTE ? ` and ${abouts.length - NAMED_PER_NOTE} more` : '';
    return `${text} (${abouts.length}): ${named}${more}`;
  });
}

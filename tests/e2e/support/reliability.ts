import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { TelegramEmulator } from '@dwld/telegram-emulator';

export interface FaultFigures {
  fault: string;
  times: number;
  linksIn: number;
  dispatched: number;
  duplicates: number;
  lost: number;
  /**
   * People owed a word after the fault (one per accepted link that went out: its "taken by"
   * message) and how many of those they got. Absent where the fault does not measure it.
   */
  owed?: number;
  told?: number;
}

/** Fault tests append their figures here; `pnpm test:faults` turns them into docs/RELIABILITY.md. */
export const FIGURES_FILE = path.resolve(__dirname, '../.faults/figures.jsonl');

export function recordFault(figures: FaultFigures): void {
  mkdirSync(path.dirname(FIGURES_FILE), { recursive: true });
  appendFileSync(FIGURES_FILE, `${JSON.stringify({ ...figures, at: new Date().toISOString() })}\n`);
}

/**
 * How long an outage lasts in this run. CI runs the short length (still longer than every
 * client-side retry and offline queue, or the fault proves nothing); `FAULTS_FULL_LENGTH=1`
 * (the run recorded in docs/RELIABILITY.md) the full one.
 */
export function outageMs(short: { seconds: number }, full: { seconds: number }): number {
  return (process.env.FAULTS_FULL_LENGTH === '1' ? full.seconds : short.seconds) * 1000;
}

/** Whether this run uses full outage lengths (for the row's wording). */
export const FULL_LENGTH = process.env.FAULTS_FULL_LENGTH === '1';

/**
 * For each link, how many "✅ <link> was taken by …" messages the bot got through to Telegram
 * (successful sendMessage calls, whether or not the message was deleted later). A person is
 * told when that count is 1; more is a repeat.
 */
export function takenMessages(emulator: TelegramEmulator, links: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>(links.map((link) => [link, 0]));
  for (const call of emulator.calls('sendMessage')) {
    if (!call.response.ok) continue;
    const text = String(call.params.text ?? '');
    if (!/was taken by|взял/.test(text)) continue;
    // The link as a whole word: https://x/late/1 must not count for https://x/late/10.
    for (const link of links) if (text.includes(`${link} `)) counts.set(link, counts.get(link)! + 1);
  }
  return counts;
}

/** owed = links, told = links whose person got exactly one "taken by" message, repeats = links told more than once. */
export function peopleTold(emulator: TelegramEmulator, links: readonly string[]): { owed: number; told: number; repeats: number } {
  const counts = [...takenMessages(emulator, links).values()];
  return { owed: links.length, told: counts.filter((n) => n >= 1).length, repeats: counts.filter((n) => n > 1).length };
}

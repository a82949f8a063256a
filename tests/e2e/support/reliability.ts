import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface FaultFigures {
  fault: string;
  times: number;
  linksIn: number;
  dispatched: number;
  duplicates: number;
  lost: number;
}

/** Fault tests append their figures here; `pnpm test:faults` turns them into docs/RELIABILITY.md. */
export const FIGURES_FILE = path.resolve(__dirname, '../.faults/figures.jsonl');

export function recordFault(figures: FaultFigures): void {
  mkdirSync(path.dirname(FIGURES_FILE), { recursive: true });
  appendFileSync(FIGURES_FILE, `${JSON.stringify({ ...figures, at: new Date().toISOString() })}\n`);
}

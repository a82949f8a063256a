import os from 'node:os';

/** What the figures were measured on, for the head of RESULTS.md. */
export function describeMachine(): string {
  const cpus = os.cpus();
  return [
    `- date: ${new Date().toISOString()}`,
    `- cpu: ${cpus.length} × ${cpus[0]?.model ?? 'unknown'}`,
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- node: ${process.version}, ${os.platform()} ${os.release()}`,
  ].join('\n');
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

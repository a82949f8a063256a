import type { PrismaClient } from './generated/prisma/client';

/** The settings row the gateway's /pooloff and /poolon write and every scheduler reads. */
export const DISPATCH_PAUSED_KEY = 'dispatch.paused';

/** Paused only when the stored value is JSON true (or the string "true"). */
export function isPausedValue(value: unknown): boolean {
  return value === true || value === 'true';
}

export async function isDispatchPaused(db: PrismaClient): Promise<boolean> {
  const row = await db.setting.findUnique({ where: { key: DISPATCH_PAUSED_KEY } });
  return row !== null && isPausedValue(row.value);
}

export async function setDispatchPaused(db: PrismaClient, paused: boolean): Promise<void> {
  await db.setting.upsert({ where: { key: DISPATCH_PAUSED_KEY }, create: { key: DISPATCH_PAUSED_KEY, value: paused }, update: { value: paused } });
}

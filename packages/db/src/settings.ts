import type { PrismaClient } from './generated/prisma/client';

/** The settings row the gateway's /pooloff and /poolon write and every scheduler reads. */
export const DISPATCH_PAUSED_KEY = 'dispatch.paused';
/** Who paused dispatching last ({"id": "<telegram id>", "name": "@admin" | null}); written with the pause. */
export const DISPATCH_PAUSED_BY_KEY = 'dispatch.paused.by';

/** Paused only when the stored value is JSON true (or the string "true"). */
export function isPausedValue(value: unknown): boolean {
  return value === true || value === 'true';
}

export async function isDispatchPaused(db: PrismaClient): Promise<boolean> {
  const row = await db.setting.findUnique({ where: { key: DISPATCH_PAUSED_KEY } });
  return row !== null && isPausedValue(row.value);
}

export interface PausedBy {
  id: string;
  name: string | null;
}

/** Whether dispatching is paused, since when (the pause row's last change) and by whom. */
export interface DispatchPause {
  paused: boolean;
  /** When the switch last flipped; null if it never did. */
  since: Date | null;
  by: PausedBy | null;
}

function pausedByOf(value: unknown): PausedBy | null {
  if (typeof value !== 'object' || value === null) return null;
  const { id, name } = value as { id?: unknown; name?: unknown };
  if (typeof id !== 'string') return null;
  return { id, name: typeof name === 'string' ? name : null };
}

export async function readDispatchPause(db: PrismaClient): Promise<DispatchPause> {
  const rows = await db.setting.findMany({ where: { key: { in: [DISPATCH_PAUSED_KEY, DISPATCH_PAUSED_BY_KEY] } } });
  const pause = rows.find((row) => row.key === DISPATCH_PAUSED_KEY);
  const by = rows.find((row) => row.key === DISPATCH_PAUSED_BY_KEY);
  return { paused: pause !== undefined && isPausedValue(pause.value), since: pause?.updatedAt ?? null, by: pausedByOf(by?.value) };
}

/**
 * Flips the pause switch. Nothing is written when it already stands that way, so `since` keeps
 * the moment it really flipped; true when it flipped. `by` is remembered with a pause.
 */
export async function setDispatchPaused(db: PrismaClient, paused: boolean, by?: PausedBy): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const flipped = await tx.$executeRaw`
      INSERT INTO settings (key, value, updated_at) VALUES (${DISPATCH_PAUSED_KEY}, ${JSON.stringify(paused)}::jsonb, now())
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
       WHERE settings.value IS DISTINCT FROM EXCLUDED.value`;
    if (flipped > 0 && paused && by) {
      const value = { id: by.id, name: by.name };
      await tx.setting.upsert({ where: { key: DISPATCH_PAUSED_BY_KEY }, create: { key: DISPATCH_PAUSED_BY_KEY, value }, update: { value } });
    }
    return flipped > 0;
  });
}

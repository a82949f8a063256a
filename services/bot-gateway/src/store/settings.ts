import type { Database } from '@dwld/db';

/** The key the scheduler reads to know whether dispatching is paused (/pooloff). */
export const DISPATCH_PAUSED_KEY = 'dispatch.paused';

export class SettingsStore {
  constructor(private readonly db: Database) {}

  async isDispatchPaused(): Promise<boolean> {
    const row = await this.db.setting.findUnique({ where: { key: DISPATCH_PAUSED_KEY } });
    return row?.value === true;
  }

  async setDispatchPaused(paused: boolean): Promise<void> {
    await this.db.setting.upsert({ where: { key: DISPATCH_PAUSED_KEY }, create: { key: DISPATCH_PAUSED_KEY, value: paused }, update: { value: paused } });
  }
}

import { isDispatchPaused, setDispatchPaused, type Database } from '@dwld/db';

/** Global switches the gateway's admins flip (the scheduler reads the same rows). */
export class SettingsStore {
  constructor(private readonly db: Database) {}

  isDispatchPaused(): Promise<boolean> {
    return isDispatchPaused(this.db);
  }

  setDispatchPaused(paused: boolean): Promise<void> {
    return setDispatchPaused(this.db, paused);
  }
}

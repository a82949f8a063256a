import { EventEmitter } from 'node:events';
import type { Update } from '../types';

/**
 * One bot's pending updates. Like Telegram's, an update stays here until the bot confirms it
 * (getUpdates with a higher offset, or a 2xx from its webhook), so an unconfirmed update is
 * delivered again. Update ids increase and are never reused, even across `reset()`, so a bot
 * still holding an old offset keeps receiving.
 */
export class UpdateQueue extends EventEmitter<{ push: [Update] }> {
  private pending: Update[] = [];

  /** `nextId` hands out the bot's update ids (increasing, never reused). */
  constructor(private readonly nextId: () => number) {
    super();
  }

  get size(): number {
    return this.pending.length;
  }

  push(body: Omit<Update, 'update_id'>): Update {
    const update: Update = { update_id: this.nextId(), ...body };
    this.pending.push(update);
    this.emit('push', update);
    return update;
  }

  /** getUpdates' offset: confirms every update below it; a negative one keeps only the last -offset. */
  confirm(offset: number): void {
    if (offset < 0) this.pending = this.pending.slice(offset);
    else if (offset > 0) this.pending = this.pending.filter((update) => update.update_id >= offset);
  }

  peek(limit: number): Update[] {
    return this.pending.slice(0, limit);
  }

  clear(): void {
    this.pending = [];
  }

  /** Every pending update, oldest first (for the state file). */
  all(): Update[] {
    return this.pending.slice();
  }

  /** Puts back updates pending when the state was saved (before any new one is pushed). */
  restore(updates: Update[]): void {
    this.pending = [...updates, ...this.pending];
  }
}

/**
 * What ids must never be handed out twice: Telegram's update ids (one sequence per bot), message
 * ids (one per chat) and callback query ids. Each sequence has a string key.
 */
export const idKeys = {
  update: (botId: number) => `update:${botId}`,
  message: (botId: number, chatId: number) => `message:${botId}:${chatId}`,
  callback: 'callback',
} as const;

/** Where reserved ids are made durable, before any of them is handed out. */
export interface IdReservation {
  /** How many ids one reservation covers (amortises the synchronous write). */
  block: number;
  /** Records every sequence's reserved value durably (synchronously), or throws. */
  persist(): void;
}

/**
 * Counters that only go up. Without a reservation they live in memory only. With one they work
 * like a database sequence cache: before an id beyond the reserved value is handed out, the
 * reservation is raised by a block and persisted, so a process killed at any moment restarts
 * from the reserved values and never repeats an id.
 */
export class IdCounters {
  private readonly last = new Map<string, number>();
  private readonly reserved = new Map<string, number>();

  constructor(
    private readonly reservation?: IdReservation,
    /** Where every sequence starts: its first id is origin + 1. */
    readonly origin = 0,
  ) {}

  /** The next id of a sequence (the first is origin + 1). */
  next(key: string): number {
    const id = (this.last.get(key) ?? this.origin) + 1;
    if (this.reservation && id > (this.reserved.get(key) ?? 0)) {
      const before = this.reserved.get(key);
      this.reserved.set(key, id - 1 + this.reservation.block);
      try {
        this.reservation.persist();
      } catch (err) {
        // Not durable: hand nothing out (the caller's Bot API call fails instead).
        if (before === undefined) this.reserved.delete(key);
        else this.reserved.set(key, before);
        throw err;
      }
    }
    this.last.set(key, id);
    return id;
  }

  /** The last id handed out of a sequence (0: none yet). */
  current(key: string): number {
    return this.last.get(key) ?? 0;
  }

  /**
   * What to write down: the reserved value of every sequence. With `release`, the reservations
   * shrink to the ids actually handed out (a clean stop), so the next run continues right after
   * them; a later next() then reserves again before handing anything out.
   */
  durable(release = false): Record<string, number> {
    if (release) for (const [key, id] of this.last) this.reserved.set(key, id);
    // A sequence being reserved for the first time has no id handed out yet: it is in reserved only.
    const out: Record<string, number> = {};
    for (const [key, id] of this.reserved) out[key] = id;
    for (const [key, id] of this.last) out[key] = Math.max(id, out[key] ?? 0);
    return out;
  }

  /** Continues a sequence after `id` (from a state file): every id up to it counts as used. */
  continueAfter(key: string, id: number): void {
    if (id <= (this.last.get(key) ?? 0)) return;
    this.last.set(key, id);
    if (this.reservation) this.reserved.set(key, id);
  }
}

/** What one caller of LatestWins.run gets: the write's result, and whether its own request was the one written. */
export interface Coalesced<R> {
  result: R;
  /**
   * True for exactly one caller per write: the one whose request was written (the others asked
   * for the same thing, or were overtaken by a later request before their turn came).
   */
  own: boolean;
}

interface Caller<R> {
  resolve: (value: Coalesced<R>) => void;
  reject: (err: unknown) => void;
}

interface Waiting<T, R> {
  request: T;
  sameAs: string;
  /** The caller whose request this write is. */
  owner: Caller<R>;
  /** Callers sharing it. */
  sharing: Array<Caller<R>>;
}

interface Slot<T, R> {
  running: Waiting<T, R>;
  next?: Waiting<T, R>;
}

/**
 * One write at a time per key, the latest request winning. While a write for a key is in
 * flight, a request equal to it (`sameAs`) shares its result (writing it again would change
 * nothing); any other request waits for the next write, and a request arriving before that
 * write starts takes its place, so the callers it overtook share its result. Run one after the
 * other, their writes would have ended in the same row: the latest request's.
 *
 * Why the latest wins rather than the first: a registration says where a downloader is now. A
 * downloader restarted on another port while its old registration is still being written must
 * end at the new port; sharing the old write's result would tell it "registered" and keep the
 * old address.
 */
export class LatestWins<T, R> {
  private readonly slots = new Map<string, Slot<T, R>>();

  /**
   * @param write does the work for one request; one call at a time per key.
   * @param sameAs a request's identity: equal strings mean equal effects.
   */
  constructor(
    private readonly write: (request: T) => Promise<R>,
    private readonly sameAs: (request: T) => string,
  ) {}

  run(key: string, request: T): Promise<Coalesced<R>> {
    return new Promise<Coalesced<R>>((resolve, reject) => {
      const caller = { resolve, reject };
      const sameAs = this.sameAs(request);
      const slot = this.slots.get(key);
      if (!slot) {
        const running: Waiting<T, R> = { request, sameAs, owner: caller, sharing: [] };
        this.slots.set(key, { running });
        this.start(key, running);
      } else if (!slot.next && slot.running.sameAs === sameAs) {
        slot.running.sharing.push(caller);
      } else if (slot.next?.sameAs === sameAs) {
        slot.next.sharing.push(caller);
      } else if (slot.next) {
        // Overtaken before its turn: the earlier owner shares this later request's write.
        slot.next.sharing.push(slot.next.owner);
        Object.assign(slot.next, { request, sameAs, owner: caller });
      } else {
        slot.next = { request, sameAs, owner: caller, sharing: [] };
      }
    });
  }

  /** Keys with a write in flight (for tests). */
  size(): number {
    return this.slots.size;
  }

  private start(key: string, waiting: Waiting<T, R>): void {
    const settle = (outcome: { ok: true; result: R } | { ok: false; error: unknown }) => {
      for (const caller of [waiting.owner, ...waiting.sharing]) {
        if (outcome.ok) caller.resolve({ result: outcome.result, own: caller === waiting.owner });
        else caller.reject(outcome.error);
      }
      const slot = this.slots.get(key)!;
      if (slot.next) {
        slot.running = slot.next;
        delete slot.next;
        this.start(key, slot.running);
      } else {
        this.slots.delete(key);
      }
    };
    let promise: Promise<R>;
    try {
      promise = this.write(waiting.request);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      (result) => settle({ ok: true, result }),
      (error: unknown) => settle({ ok: false, error }),
    );
  }
}

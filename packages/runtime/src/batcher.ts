export interface BatcherOptions {
  /** Items handed to one run at most. */
  maxBatch: number;
  /** Runs in flight at once; items arriving meanwhile wait and go together in the next run. */
  maxConcurrent?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (reason: unknown) => void;
}

/**
 * Group commit: many callers each `submit` one item and get its own result, while the items
 * go to `run` together — everything submitted in the same turn of the event loop, plus
 * whatever piled up while the previous run was in flight. Idle, an item waits for nothing but
 * the current turn; under load one round trip serves many callers.
 *
 * `run` answers with one result per item, in order; when it throws, every item of that run
 * is rejected with the error.
 */
export class Batcher<I, O> {
  private readonly waiting: Array<Waiting<I, O>> = [];
  private readonly maxBatch: number;
  private readonly maxConcurrent: number;
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    options: BatcherOptions,
  ) {
    if (!(options.maxBatch >= 1)) throw new Error('maxBatch must be at least 1');
    this.maxBatch = options.maxBatch;
    this.maxConcurrent = options.maxConcurrent ?? 1;
    if (!(this.maxConcurrent >= 1)) throw new Error('maxConcurrent must be at least 1');
  }

  /** Items submitted and not yet answered or in a run. */
  get pending(): number {
    return this.waiting.length;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // Let the rest of this turn's submissions join before the first run starts.
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.running < this.maxConcurrent && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.running++;
      void this.runBatch(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async runBatch(batch: Array<Waiting<I, O>>): Promise<void> {
    let results: O[];
    try {
      results = await this.run(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} got ${results.length} results`);
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i]!));
  }
}

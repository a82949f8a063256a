import { Queue, Worker, type Processor, type QueueOptions, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@dwld/logger';

/**
 * A BullMQ queue and, once started, its worker, each on a connection of its own that stop()
 * closes (BullMQ never closes a connection it was given). Neither uses auto-pipelining: on the
 * gateway's shared connection it has been seen to confuse BullMQ's job-state scripts.
 */
export class JobQueue<T> {
  readonly queue: Queue<T>;
  private readonly queueConnection: Redis;
  private workerConnection: Redis | undefined;
  private worker: Worker<T> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly name: string,
    private readonly logger: Logger,
    options: Omit<QueueOptions, 'connection'>,
  ) {
    this.queueConnection = redis.duplicate({ enableAutoPipelining: false });
    this.queue = new Queue<T>(name, { ...options, connection: this.queueConnection });
    // Without a listener BullMQ prints connection errors to the console; callers hear of a
    // failure from their own promises.
    this.queue.on('error', (err) => logger.warn(`${name} queue error`, { error: err.message }));
  }

  startWorker(processor: Processor<T>, options: Omit<WorkerOptions, 'connection'>): Worker<T> {
    // Blocking reads: no request limit, or a quiet queue would time the worker's reads out.
    this.workerConnection = this.redis.duplicate({ maxRetriesPerRequest: null, enableAutoPipelining: false });
    this.worker = new Worker<T>(this.name, processor, { ...options, connection: this.workerConnection });
    this.worker.on('error', (err) => this.logger.warn(`${this.name} worker error`, { error: err.message }));
    return this.worker;
  }

  /** Lets the jobs in hand finish, then closes the worker, the queue and their connections. */
  async stop(): Promise<void> {
    try {
      await this.worker?.close();
      await this.queue.close();
    } finally {
      this.disconnect();
    }
  }

  /** Drops the worker as a crash would: jobs in hand stay active, their holds left to run out. For tests. */
  async abandon(): Promise<void> {
    await this.worker?.close(true);
    this.disconnect();
  }

  private disconnect(): void {
    this.queueConnection.disconnect();
    this.workerConnection?.disconnect();
  }
}

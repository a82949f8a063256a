import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Telegram } from 'telegraf';
import type { InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove } from 'telegraf/types';
import type { Logger } from '@dwld/logger';
import { Batcher, Counter, type Registry } from '@dwld/runtime';
import { deleteJobId, OUTBOX_JOB_OPTIONS, OUTBOX_QUEUE, type OutboxDeleteJob } from '@dwld/events';
import { JobQueue } from '../job-queue';
import { describeTelegramFailure } from './timed-telegram';

export type Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove;

export type OutboxJob =
  | {
      kind: 'send';
      chatId: string;
      /** A long answer comes as several parts, sent in order; the markup goes on the last. */
      text: string | string[];
      markup?: Markup;
      replyTo?: number;
      /** Delete the message this long after it was sent (service replies). */
      deleteAfterMs?: number;
      /** The message is the "queued" reply of this link: remember its id on the link. */
      linkReplyOf?: number;
      /** With linkReplyOf: whether dispatching was paused when the card was drawn (checked again once it is out). */
      drawnPaused?: boolean;
      /** Set by the worker: parts already delivered. */
      partsSent?: number;
      /**
       * A message the chat may not be able to take (the start notice to an admin who never
       * opened the chat): a refusal is logged at debug, not as a warning.
       */
      mayBeRefused?: boolean;
      /** A service reply of this kind, which may be coalesced or dropped (SERVICE_REPLY_KINDS); unset: owed. */
      service?: ServiceReplyKind;
    }
  | { kind: 'edit'; chatId: string; messageId: number; text: string; markup?: InlineKeyboardMarkup }
  | OutboxDeleteJob
  /** The command menu of one chat in one language (none: the default); an empty list removes the chat's own menu. */
  | { kind: 'commands'; chatId: string; languageCode?: string; commands: Array<{ command: string; description: string }> };

/**
 * Kinds of service reply: not owed, so a chat keeps at most `chatBacklog` of them waiting (the
 * oldest makes way). All but 'reply' also coalesce: each describes the state of things now (a
 * listing, a setting, the help) or repeats a generic notice, so the newest one waiting says all
 * the older ones of its kind did. 'reply' is the outcome of one command (removed, logged
 * out…): bounded, never merged. Owed, never coalesced or dropped (no kind): a link's card
 * ("queued"), what became of a link (taken by, urgent, not queued, duplicate, rejected), edits
 * of a card (edits of one message still coalesce: the newest carries the whole text), admin
 * alerts, deletions and command menus. See docs/ARCHITECTURE.md.
 */
export const SERVICE_REPLY_KINDS = [
  'help',
  'welcome',
  'queue',
  'no-links',
  'too-many-links',
  'slow-down',
  'edit-ignored',
  'notifications',
  'something-wrong',
  'unavailable',
  'admin-only',
  'access-denied',
  'status',
  'links-list',
  'pause',
  'select',
  'reply',
] as const;
export type ServiceReplyKind = (typeof SERVICE_REPLY_KINDS)[number];

export interface EnqueueOptions {
  /** An idempotency key: a second job with the same id (a redelivered event) is dropped. */
  jobId?: string;
  delayMs?: number;
}

export interface OutboxOptions {
  /** For the queue (adding jobs); the worker duplicates it for its blocking reads. */
  redis: Redis;
  prefix: string;
  telegram: Telegram;
  logger: Logger;
  metrics: Registry;
  /** Telegram's overall limit: about 30 messages a second. */
  maxPerSecond: number;
  /** Telegram's per-chat limit: about one message a second. */
  chatIntervalMs: number;
  /** Records a link's reply message id; false when the link is gone (dispatched or removed meanwhile). */
  onLinkReplySent: (linkId: number, messageId: number, drawnPaused?: boolean) => Promise<boolean>;
  concurrency?: number;
  /** How long a worker's hold on a job lasts without renewal: a crashed gateway's jobs wait this out. */
  lockMs?: number;
  /** How often jobs whose holder died are looked for. */
  stalledCheckMs?: number;
  /** A call failing (5xx, network, timeout) is retried until this long after it was queued, then given up. */
  giveUpAfterMs?: number;
  /** The longest wait between two tries of one call. */
  retryCapMs?: number;
  /** Service replies one chat may have waiting. */
  chatBacklog?: number;
}

export const DEFAULT_GIVE_UP_AFTER_MS = 24 * 3600 * 1000;
export const DEFAULT_RETRY_CAP_MS = 60_000;
export const DEFAULT_CHAT_BACKLOG = 20;

/**
 * The wait before the next try of a failed call: doubling from 1 s up to the cap, each wait
 * drawn from its upper half so that calls failed together (an outage) do not all come back at
 * once.
 */
export function retryDelayMs(attemptsMade: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, 1000 * 2 ** Math.min(30, Math.max(0, attemptsMade - 1)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * BullMQ's defaults (a 30 s lock, a stalled check every 30 s that only moves a job it saw
 * unheld twice, checks shared by every worker) leave a message whose gateway crashed
 * mid-call unsent for up to a minute after the restart. A call takes well under a second and
 * the lock is renewed every lockMs / 2, so shorter holds cost nothing but a cheap check.
 */
export const OUTBOX_LOCK_MS = 10_000;
export const OUTBOX_STALLED_CHECK_MS = 5_000;
/**
 * A job found unheld more often than this is failed by BullMQ (its message lost). Outbox jobs
 * are plain Telegram calls that cannot crash a process, so only a gateway restarting again and
 * again strands one repeatedly: allow several, not BullMQ's single one.
 */
export const OUTBOX_MAX_STALLS = 5;

interface NewJob {
  name: OutboxJob['kind'];
  data: OutboxJob;
  jobId: string;
  /** When it may go out (ms since the epoch): its delay is counted when it is added. */
  notBefore: number;
}

/**
 * BullMQ's limiter counts in fixed windows, so `max: 30` per 1000 ms lets up to 60 calls
 * through in one sliding second (30 at the end of one window, 30 at the start of the next),
 * and Telegram counts per sliding second. One call per window of `duration` ms instead: any
 * second then overlaps at most floor(1000 / duration) + 1 windows, kept at or below
 * `maxPerSecond`.
 */
export function outboxLimiter(maxPerSecond: number): { max: number; duration: number } {
  if (!(maxPerSecond >= 1)) throw new Error('maxPerSecond must be at least 1');
  const duration = maxPerSecond === 1 ? 1001 : Math.floor(1000 / (maxPerSecond - 1)) + 1;
  return { max: 1, duration };
}

// Reserves the next free send slot of a chat: returns when this message may go out. Slots are
// taken when jobs are added, in the order the bot decided to speak, so a chat's messages keep
// their order and their pace.
const RESERVE_SLOT = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nextFree)
redis.call('SET', KEYS[1], slot + interval, 'PX', interval * 2 + (slot - now))
return slot
`;

// A chat's turn at call time: a message goes out only a full interval after the chat's last one,
// whatever delayed it (retries after an outage, a backlog behind the global limit); the slots
// taken when jobs are added only spread them out. A call that is not free gets the next free
// turn reserved (returned as the wait, ms), so jobs bounced together come back one by one.
const CLAIM_TURN = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
if last == nil or now >= last + interval then
  redis.call('HSET', KEYS[1], 'last', now)
  redis.call('PEXPIRE', KEYS[1], math.max(reserved - now, 0) + interval + 60000)
  return 0
end
local turn = math.max(reserved, last + interval)
redis.call('HSET', KEYS[1], 'next', turn + interval)
redis.call('PEXPIRE', KEYS[1], turn - now + interval + 60000)
return turn - now
`;

// Coalescing and the bound on a chat's service replies, in one step so that a job cannot start
// between the look and the change. KEYS: the chat's pending set (job id → when it may go out),
// BullMQ's delayed set and wait list. ARGV: the job key prefix, the new job's coalescing key
// ('' for none), whether it is a service reply, the bound, the new job's data. A job counts as
// pending while it is delayed or waiting; once active (or gone) it cannot be changed.
// Answers {'merged', id}: the new message took the place of a pending one of the same key;
// {'shifted', id}: the backlog was full: each waiting service reply moved up one place and the
// oldest one's message was dropped; {'add'}: add the job.
const COALESCE = `
local prefix = ARGV[1]
local key = ARGV[2]
local service = ARGV[3] == '1'
local bound = tonumber(ARGV[4])
local data = ARGV[5]
local function keyOf(d)
  if d.kind == 'send' and type(d.service) == 'string' then return 'service:' .. d.service end
  if d.kind == 'edit' then return 'edit:' .. tostring(d.messageId) end
  return ''
end
local live = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local waiting = redis.call('ZSCORE', KEYS[2], id) or redis.call('LPOS', KEYS[3], id)
  if waiting then
    local raw = redis.call('HGET', prefix .. id, 'data')
    if raw then
      local d = cjson.decode(raw)
      table.insert(live, { id = id, key = keyOf(d), service = d.kind == 'send' and type(d.service) == 'string', raw = raw })
    end
  elseif redis.call('EXISTS', prefix .. id) == 0 or redis.call('HEXISTS', prefix .. id, 'finishedOn') == 1 then
    redis.call('ZREM', KEYS[1], id)
  end
end
if key ~= '' then
  for _, job in ipairs(live) do
    if job.key == key then
      redis.call('HSET', prefix .. job.id, 'data', data)
      return { 'merged', job.id }
    end
  end
end
if service then
  local waiting = {}
  for _, job in ipairs(live) do if job.service then table.insert(waiting, job) end end
  if #waiting >= bound then
    for i = 1, #waiting - 1 do redis.call('HSET', prefix .. waiting[i].id, 'data', waiting[i + 1].raw) end
    redis.call('HSET', prefix .. waiting[#waiting].id, 'data', data)
    return { 'shifted', waiting[1].id }
  end
end
return { 'add' }
`;

/** The key a job coalesces on: a service reply's kind, or the message an edit changes. */
function coalescingKey(job: OutboxJob): string | undefined {
  if (job.kind === 'send' && job.service && job.service !== 'reply') return `service:${job.service}`;
  if (job.kind === 'edit') return `edit:${job.messageId}`;
  return undefined;
}

/** Telegram's answers that mean "nothing left to do" for an edit or delete. */
const HARMLESS = /message is not modified|message to edit not found|message to delete not found|message can't be deleted|MESSAGE_ID_INVALID/i;

interface TelegramFailure {
  code?: number;
  retryAfterS?: number;
  description: string;
}

function telegramFailure(err: unknown): TelegramFailure {
  const e = err as { response?: { error_code?: number; description?: string; parameters?: { retry_after?: number } }; message?: string };
  if (e?.response && typeof e.response.error_code === 'number') {
    return { code: e.response.error_code, retryAfterS: e.response.parameters?.retry_after, description: e.response.description ?? '' };
  }
  return { description: e?.message ?? String(err) };
}

/**
 * Every message the bot sends, edits or deletes goes through this durable queue (BullMQ):
 * one rate-limited path that keeps under Telegram's limits, waits out 429 answers for
 * `retry_after`, and survives a restart of the gateway (jobs live in Redis).
 */
export class TelegramOutbox {
  private readonly jobs: JobQueue<OutboxJob>;
  private readonly queue: Queue<OutboxJob>;
  /** The coalescing add in flight per chat (see enqueue). */
  private readonly trackedAdds = new Map<string, Promise<unknown>>();
  /** The call in flight per chat: a chat's jobs run one after another even with concurrency. */
  private readonly chatTails = new Map<string, Promise<unknown>>();
  private readonly sent: Counter;
  private readonly errors: Counter;
  private readonly dropped: Counter;
  private readonly abandoned: Counter;
  /** Group commit: the jobs of updates handled at the same time go to Redis in one pipeline. */
  private readonly adds = new Batcher<NewJob, { error: unknown } | undefined>((jobs) => this.addJobs(jobs), { maxBatch: 100 });

  constructor(private readonly options: OutboxOptions) {
    this.jobs = new JobQueue<OutboxJob>(options.redis, OUTBOX_QUEUE, options.logger, {
      prefix: options.prefix,
      // Retried with backoff; kept a while once done so that a job id (idempotency key) seen
      // again is still recognised. Shared with programs that add jobs from outside (@dwld/events).
      defaultJobOptions: { ...OUTBOX_JOB_OPTIONS },
    });
    this.queue = this.jobs.queue;
    this.sent = new Counter({ name: 'dwld_telegram_calls_total', help: 'Telegram calls made by the outbox, by kind', labelNames: ['kind'], registers: [options.metrics] });
    this.errors = new Counter({ name: 'dwld_telegram_errors_total', help: 'Telegram errors met by the outbox, by code', labelNames: ['code'], registers: [options.metrics] });
    this.dropped = new Counter({
      name: 'dwld_telegram_dropped_total',
      help: 'Messages not sent because a newer one took their place: coalesced (same kind or same message edited) or backlog (a chat over its bound of service replies)',
      labelNames: ['reason'],
      registers: [options.metrics],
    });
    this.abandoned = new Counter({ name: 'dwld_telegram_abandoned_total', help: 'Telegram calls given up after failing for TELEGRAM_GIVE_UP_AFTER_S, by kind', labelNames: ['kind'], registers: [options.metrics] });
  }

  async enqueue(job: OutboxJob, options: EnqueueOptions = {}): Promise<void> {
    const key = coalescingKey(job) ?? '';
    // Tracked per chat: what may coalesce, and service replies (bounded). A job delayed on
    // purpose (a deletion later) is neither.
    const tracked = (key !== '' || (job.kind === 'send' && job.service !== undefined)) && !options.delayMs;
    if (!tracked) return this.add(job, options, false);
    // One at a time per chat (in this process): the replies to a batch of updates handled
    // together must each see the job the one before added, or none would coalesce.
    const chatId = job.chatId;
    const run = (this.trackedAdds.get(chatId) ?? Promise.resolve()).then(async () => {
      if (!(await this.coalesce(job, key))) await this.add(job, options, true);
    });
    const tail = run.catch(() => undefined);
    this.trackedAdds.set(chatId, tail);
    void tail.then(() => {
      if (this.trackedAdds.get(chatId) === tail) this.trackedAdds.delete(chatId);
    });
    return run;
  }

  private async add(job: OutboxJob, options: EnqueueOptions, tracked: boolean): Promise<void> {
    // Real time, not the gateway's clock: BullMQ waits out delays, and Redis keeps the chat slots, on it.
    let notBefore = Date.now() + (options.delayMs ?? 0);
    // Sends and edits keep to the chat's pace; deletions don't count against it.
    if (job.kind !== 'delete') {
      const parts = job.kind === 'send' && Array.isArray(job.text) ? job.text.length : 1;
      notBefore = await this.reserveChatSlot(job.chatId, notBefore, parts);
    }
    // BullMQ refuses ':' in custom job ids; event ids (dispatch.result:<link>:<attempt>) have them.
    // A job without an idempotency key gets its own id, so adding it again (after a failed
    // pipeline, part of which may have gone in) cannot send the message twice.
    const jobId = options.jobId?.replace(/:/g, '_') ?? randomUUID();
    const refused = await this.adds.submit({ name: job.kind, data: job, jobId, notBefore });
    if (refused) throw refused.error;
    if (tracked) {
      const pending = this.pendingKey(job.chatId);
      await this.options.redis.multi().zadd(pending, notBefore, jobId).pexpire(pending, 7 * 24 * 3600 * 1000).exec();
    }
  }

  /** True when the message took the place of one waiting in the chat (nothing to add). */
  private async coalesce(job: OutboxJob, key: string): Promise<boolean> {
    const { keys } = this.queue;
    const answer = (await this.options.redis.eval(
      COALESCE,
      3,
      this.pendingKey(job.chatId),
      keys.delayed!,
      keys.wait!,
      this.queue.toKey(''),
      key,
      job.kind === 'send' && job.service ? '1' : '0',
      this.options.chatBacklog ?? DEFAULT_CHAT_BACKLOG,
      JSON.stringify(job),
    )) as [string, string?];
    if (answer[0] === 'add') return false;
    this.dropped.inc({ reason: answer[0] === 'merged' ? 'coalesced' : 'backlog' });
    return true;
  }

  private pendingKey(chatId: string): string {
    return `${this.options.prefix}:tg-chat-pending:${chatId}`;
  }

  /** Adds jobs in one pipeline; per job, the error that kept it out (undefined when added). */
  private async addJobs(jobs: NewJob[]): Promise<Array<{ error: unknown } | undefined>> {
    // The delay is counted from now, not from when the job was submitted: a job that waited
    // for the previous pipeline must not go out sooner after its chat's previous message.
    const opts = (job: NewJob) => {
      const delay = job.notBefore - Date.now();
      return { jobId: job.jobId, ...(delay > 0 ? { delay } : {}) };
    };
    try {
      await this.queue.addBulk(jobs.map((job) => ({ name: job.name, data: job.data, opts: opts(job) })));
      return jobs.map(() => undefined);
    } catch (err) {
      // One job BullMQ refuses must not cost the others their message: each goes alone.
      if (jobs.length === 1) return [{ error: err }];
      const added = await Promise.allSettled(jobs.map((job) => this.queue.add(job.name, job.data, opts(job))));
      return added.map((outcome) => (outcome.status === 'rejected' ? { error: outcome.reason } : undefined));
    }
  }

  send(job: Omit<Extract<OutboxJob, { kind: 'send' }>, 'kind'>, options?: EnqueueOptions) {
    return this.enqueue({ kind: 'send', ...job }, options);
  }

  edit(job: Omit<Extract<OutboxJob, { kind: 'edit' }>, 'kind'>, options?: EnqueueOptions) {
    return this.enqueue({ kind: 'edit', ...job }, options);
  }

  delete(chatId: string, messageId: number, options?: EnqueueOptions) {
    return this.enqueue({ kind: 'delete', chatId, messageId }, { jobId: deleteJobId(chatId, messageId), ...options });
  }

  /** One job (one Bot API call, as the limiter counts) per language's list. */
  async setCommands(chatId: string, lists: Array<Omit<Extract<OutboxJob, { kind: 'commands' }>, 'kind' | 'chatId'>>): Promise<void> {
    for (const list of lists) await this.enqueue({ kind: 'commands', chatId, ...list });
  }

  /** Jobs not yet done (for /readyz-style checks and tests). */
  async backlog(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  startWorker(): void {
    const { options } = this;
    const capMs = options.retryCapMs ?? DEFAULT_RETRY_CAP_MS;
    const worker = this.jobs.startWorker((job, token) => this.process(job, token), {
      prefix: options.prefix,
      concurrency: options.concurrency ?? 8,
      limiter: outboxLimiter(options.maxPerSecond),
      lockDuration: options.lockMs ?? OUTBOX_LOCK_MS,
      stalledInterval: options.stalledCheckMs ?? OUTBOX_STALLED_CHECK_MS,
      maxStalledCount: OUTBOX_MAX_STALLS,
      settings: { backoffStrategy: (attemptsMade) => retryDelayMs(attemptsMade, capMs) },
    });
    worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        options.logger.error('telegram call abandoned', { kind: job.data.kind, chatId: job.data.chatId, error: err.message });
      }
    });
  }

  stop(): Promise<void> {
    return this.jobs.stop();
  }

  /**
   * Drops the worker as a crash would: jobs being worked on stay active, with their holds left
   * to run out, for the next worker to redo. For tests.
   */
  abandon(): Promise<void> {
    return this.jobs.abandon();
  }

  /**
   * Jobs are taken in queue order; chaining them per chat keeps that order on the wire even
   * though several jobs (of different chats) run at once.
   */
  private process(job: Job<OutboxJob>, token: string | undefined): Promise<void> {
    const chatId = job.data.chatId;
    const previous = this.chatTails.get(chatId) ?? Promise.resolve();
    const run = previous.then(() => this.attempt(job, token));
    const tail = run.catch(() => undefined);
    this.chatTails.set(chatId, tail);
    void tail.then(() => {
      if (this.chatTails.get(chatId) === tail) this.chatTails.delete(chatId);
    });
    return run;
  }

  private async attempt(job: Job<OutboxJob>, token: string | undefined): Promise<void> {
    const data = job.data;
    try {
      await this.call(job, token);
      this.sent.inc({ kind: data.kind });
    } catch (err) {
      if (err instanceof UnrecoverableError || err instanceof DelayedError) throw err;
      const failure = telegramFailure(err);
      this.errors.inc({ code: String(failure.code ?? 'network') });
      if (failure.code === 429) {
        // The whole bot is over its limit: pause the queue for as long as Telegram asks.
        await this.queue.rateLimit(Math.max(1, failure.retryAfterS ?? 1) * 1000);
        throw Worker.RateLimitError();
      }
      if ((data.kind === 'edit' || data.kind === 'delete') && HARMLESS.test(failure.description)) return;
      if (failure.code !== undefined && failure.code >= 400 && failure.code < 500) {
        // A bad request or a blocked bot: trying again will not help.
        const expected = data.kind === 'send' && data.mayBeRefused === true;
        this.options.logger[expected ? 'debug' : 'warn']('telegram refused a call', { kind: data.kind, chatId: data.chatId, code: failure.code, error: failure.description });
        throw new UnrecoverableError(`${failure.code}: ${failure.description}`);
      }
      // A 5xx, a network error or a timeout: Telegram may be back any minute. Retried with
      // capped backoff until the give-up time, however many tries that takes. A timed-out send
      // may have reached the chat (only its answer lost): it is sent again all the same, since
      // a repeated reply is the lesser harm than an owed one never sent, and Telegram has no
      // idempotency key to ask with. Edits, deletions and command menus repeat harmlessly.
      const giveUpAfterMs = this.options.giveUpAfterMs ?? DEFAULT_GIVE_UP_AFTER_MS;
      if (Date.now() - job.timestamp >= giveUpAfterMs) {
        this.abandoned.inc({ kind: data.kind });
        this.options.logger.error('telegram call abandoned', { kind: data.kind, chatId: data.chatId, tries: job.attemptsMade + 1, failingForS: Math.round((Date.now() - job.timestamp) / 1000), reason: describeTelegramFailure(err) });
        throw new UnrecoverableError(`given up after ${Math.round(giveUpAfterMs / 1000)} s: ${describeTelegramFailure(err)}`);
      }
      throw err;
    }
  }

  /**
   * Waits for the chat's turn: returns at once when it is free, otherwise moves the job to its
   * reserved turn (BullMQ runs it again then, without counting a try) and ends this run.
   */
  private async takeTurn(job: Job<OutboxJob>, token: string | undefined): Promise<void> {
    const key = `${this.options.prefix}:tg-chat-turn:${job.data.chatId}`;
    const now = Date.now();
    const waitMs = Number(await this.options.redis.eval(CLAIM_TURN, 1, key, now, this.options.chatIntervalMs));
    if (waitMs <= 0) return;
    await job.moveToDelayed(now + waitMs, token);
    throw new DelayedError();
  }

  private async reserveChatSlot(chatId: string, earliest: number, messages: number): Promise<number> {
    const key = `${this.options.prefix}:tg-chat-slot:${chatId}`;
    return Number(await this.options.redis.eval(RESERVE_SLOT, 1, key, earliest, this.options.chatIntervalMs * messages));
  }

  private async call(job: Job<OutboxJob>, token: string | undefined): Promise<void> {
    const data = job.data;
    const { telegram } = this.options;
    switch (data.kind) {
      case 'send': {
        const parts = Array.isArray(data.text) ? data.text : [data.text];
        const done = data.partsSent ?? 0;
        let message: { message_id: number } | undefined;
        for (let i = done; i < parts.length; i++) {
          const last = i === parts.length - 1;
          // Each part is a message: each waits for the chat's turn (the job resumes at its part).
          await this.takeTurn(job, token);
          message = await telegram.sendMessage(data.chatId, parts[i]!, {
            parse_mode: 'HTML',
            link_preview_options: { is_disabled: true },
            ...(last && data.markup ? { reply_markup: data.markup } : {}),
            ...(i === 0 && data.replyTo ? { reply_parameters: { message_id: data.replyTo, allow_sending_without_reply: true } } : {}),
          });
          // A retry (after a 429 halfway) must not send the parts already delivered again.
          if (!last) await job.updateData({ ...data, partsSent: i + 1 });
          if (data.deleteAfterMs) await this.delete(data.chatId, message.message_id, { delayMs: data.deleteAfterMs });
        }
        if (!message) return;
        if (data.linkReplyOf !== undefined && !(await this.options.onLinkReplySent(data.linkReplyOf, message.message_id, data.drawnPaused))) {
          // The link left the queue before its reply existed: nobody else will delete the reply.
          await this.delete(data.chatId, message.message_id);
        }
        return;
      }
      case 'edit':
        await this.takeTurn(job, token);
        await telegram.editMessageText(data.chatId, data.messageId, undefined, data.text, {
          parse_mode: 'HTML',
          link_preview_options: { is_disabled: true },
          ...(data.markup ? { reply_markup: data.markup } : {}),
        });
        return;
      case 'delete':
        await telegram.deleteMessage(data.chatId, data.messageId);
        return;
      case 'commands': {
        const scope = { scope: { type: 'chat' as const, chat_id: Number(data.chatId) }, ...(data.languageCode ? { language_code: data.languageCode } : {}) };
        if (data.commands.length > 0) await telegram.setMyCommands(data.commands, scope);
        else await telegram.deleteMyCommands(scope);
        return;
      }
    }
  }
}

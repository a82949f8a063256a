import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type ApiReply, BotApi, type CallRecord, type HungCall } from './bot-api/bot-api';
import { commandScopeKey } from './bot-api/commands';
import { type Fault, FaultSwitches, type HangFault } from './bot-api/faults';
import { FloodControl, type FloodLimits } from './bot-api/flood-control';
import { webhookInfoOf } from './bot-api/updates';
import type { WebhookDeliveryOptions } from './bot-api/webhook-delivery';
import { FakeUser, type FakeUserHost } from './fake-user';
import { createRouter } from './routes';
import { IdCounters } from './state/id-counters';
import { captureWorld, restoreState, type SavedState } from './state/saved-state';
import { lockStateFile, readStateFile, StateWriter } from './state/state-file';
import { type BotProfile, type BotState, type ChatEvent, clone, type UserProfile, World } from './state/world';
import type { BotCommand, CallbackAnswer, Message, Update, User, WebhookInfo } from './types';
import { waitForEvent } from './wait-for-event';
import { type ChatSnapshot, chatSnapshot, watchChat, type WebChatEvent } from './web-chat/chat-feed';
import { DEFAULT_PEOPLE, type Person, type PersonOptions, personOf } from './web-chat/people';

export interface TelegramEmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port (see the url start() returns). */
  port?: number;
  /** Bots known from the start; the first is the one people talk to by default. */
  bots?: Array<{ token: string } & BotProfile>;
  /** Create a bot for any well-formed `<id>:<secret>` token on its first call (default true). */
  acceptAnyToken?: boolean;
  /** Name and username of bots created from a token (default username `dwld_test_bot`). */
  defaultBotProfile?: BotProfile;
  webhook?: Partial<WebhookDeliveryOptions>;
  /**
   * Enforce Telegram's flood limits: a message call over them is answered 429 (see
   * setFloodLimits). Default: no limits.
   */
  floodLimits?: FloodLimits;
  /** How many calls calls() keeps (default 10 000; older ones are dropped). */
  maxCallLog?: number;
  /**
   * Who a person at the web chat page (`GET /`) may be. Default: Admin (id 100), Alice (200),
   * Bob (201) and Stranger (999). They also give emulator.user() its defaults for those ids.
   */
  people?: PersonOptions[];
  /**
   * Keep the state across restarts in this JSON file (created if missing): update, message and
   * callback query ids never repeat, even after the process is killed, and bots, people, chats
   * (their current messages and keyboards), pending updates, webhooks and commands come back.
   * An unreadable file makes the constructor throw (StateFileError, naming the file). Unset: the
   * emulator keeps everything in memory only.
   */
  stateFile?: string;
  /**
   * With a state file: how many ids of one sequence a synchronous write reserves (default 1000).
   * After a kill, a sequence continues above its reservation.
   */
  stateIdBlock?: number;
  /**
   * With a new state file: where its id sequences start (the first id is this + 1). Default: a
   * random point between 100,000,000 and 1,000,000,000, so a world started afresh (the file
   * deleted) hands out no id a bot may still hold from the one before. Telegram's ids are
   * arbitrary numbers too (message ids stay below 2^31).
   */
  stateIdOrigin?: number;
}

export interface FakeUserOptions {
  id: number;
  /** Default `User <id>`. */
  firstName?: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
  /** The number sendContact() shares by default. */
  phone?: string;
  /** The bot (id or token) this person talks to; default the first bot. */
  bot?: number | string;
}

/**
 * Events the emulator emits (it is an EventEmitter). Listeners run synchronously, in the middle
 * of the Bot API call that caused the event; the wait helpers (nextBotMessage, answer()…)
 * resolve only once that call is answered and in calls().
 */
export interface EmulatorEvents {
  /** Every Bot API call, once answered (or carried out and held by a hang fault). */
  call: [CallRecord];
  /** A call is being held by a hang fault (accepted, never answered). */
  hung: [HungCall];
  /** Every update queued for a bot. */
  update: [{ botId: number; update: Update }];
  /** A message sent, edited or deleted, in either direction, or the custom keyboard changed. */
  chat: [ChatEvent];
  callbackAnswer: [{ id: string; botId: number; answer: CallbackAnswer }];
  /** A getUpdates request is now waiting for updates. */
  poll: [{ botId: number }];
  /** A webhook answered an update with 2xx (the update is confirmed). */
  webhookDelivered: [{ botId: number; update: Update }];
  /** Delivering an update to a webhook failed; it will be retried. */
  webhookFailed: [{ botId: number; update: Update; error: string }];
  /** A bot appeared (or its name changed). */
  bot: [User];
  /** reset() ran. */
  reset: [];
  /** Writing the state file failed (the next change tries again). */
  stateError: [Error];
}

const DEFAULT_WAIT_MS = 10_000;

/** Where a new state file's ids start (see TelegramEmulatorOptions.stateIdOrigin). */
function randomIdOrigin(): number {
  return 100_000_000 + Math.floor(Math.random() * 900_000_000);
}

/** With a state file, the longest a change waits before it is written. */
const STATE_WRITE_DELAY_MS = 200;

const DEFAULT_WEBHOOK_OPTIONS: WebhookDeliveryOptions = { retryDelayMs: 100, maxRetryDelayMs: 5_000, timeoutMs: 60_000, httpsAsHttp: true };

/**
 * A Telegram Bot API server for tests: bots talk to it over real HTTP as they would to
 * api.telegram.org (`apiRoot` = the url start() returns); tests play the people on the other
 * side, inspect every call, and inject faults.
 */
export class TelegramEmulator extends EventEmitter<EmulatorEvents> {
  private readonly world: World;
  private readonly faults = new FaultSwitches();
  private readonly flood = new FloodControl();
  /** Calls held by a hang fault right now. */
  private readonly held = new Set<HungCall>();
  /** The port a down() emulator comes up() on again. */
  private downPort: number | undefined;
  private readonly api: BotApi;
  private readonly userHost: FakeUserHost;
  private readonly maxCallLog: number;
  private readonly peopleById = new Map<number, Person>();
  /** People added after construction: the state file keeps them. */
  private readonly addedPeople = new Map<number, Person>();
  private readonly stateWriter: StateWriter | undefined;
  private readonly stateFile: string | undefined;
  /** Lets go of the state file's lock (held from construction, or start() after a stop(), until stop()). */
  private releaseStateFile: (() => void) | undefined;
  private callLog: CallRecord[] = [];
  private latencyMs = 0;
  private stopController = new AbortController();
  private server: Server | undefined;
  private baseUrl: string | undefined;

  constructor(private readonly options: TelegramEmulatorOptions = {}) {
    super();
    const events = this as EventEmitter;
    const stateFile = options.stateFile ? path.resolve(options.stateFile) : undefined;
    this.stateFile = stateFile;
    if (stateFile) this.releaseStateFile = lockStateFile(stateFile);
    let saved: SavedState | undefined;
    try {
      // Read first: an unusable file stops the emulator here, before anything could overwrite it.
      saved = stateFile ? readStateFile(stateFile) : undefined;
    } catch (err) {
      this.releaseStateFile?.();
      throw err;
    }
    let ids: IdCounters | undefined;
    if (stateFile) {
      const idOrigin = saved ? (saved.idOrigin ?? 0) : (options.stateIdOrigin ?? randomIdOrigin());
      const writer = new StateWriter(
        stateFile,
        { ids: (release) => this.world.ids.durable(release), idOrigin, world: () => captureWorld(this.world, this.addedPeople.values()) },
        STATE_WRITE_DELAY_MS,
        (error) => this.emit('stateError', error),
      );
      this.stateWriter = writer;
      ids = new IdCounters({ block: Math.max(1, options.stateIdBlock ?? 1000), persist: () => writer.reserve() }, idOrigin);
    }
    this.world = new World(events, { acceptAnyToken: options.acceptAnyToken ?? true, botProfile: options.defaultBotProfile ?? {}, ...(ids ? { ids } : {}) });
    for (const { token, ...profile } of options.bots ?? []) this.world.addBot(token, profile);
    this.maxCallLog = options.maxCallLog ?? 10_000;
    for (const given of options.people ?? DEFAULT_PEOPLE) {
      const person = personOf(given);
      this.peopleById.set(person.id, person);
    }
    if (saved) {
      for (const person of restoreState(this.world, saved)) {
        this.peopleById.set(person.id, person);
        this.addedPeople.set(person.id, person);
      }
    }
    this.api = new BotApi({
      world: this.world,
      events,
      faults: this.faults,
      flood: this.flood,
      latencyMs: () => this.latencyMs,
      stopSignal: () => this.stopController.signal,
      webhook: { ...DEFAULT_WEBHOOK_OPTIONS, ...options.webhook },
      record: (call) => {
        this.callLog.push(call);
        if (this.callLog.length > this.maxCallLog) this.callLog.splice(0, this.callLog.length - this.maxCallLog);
        this.emit('call', call);
      },
      hung: (call) => {
        this.held.add(call);
        this.emit('hung', { ...call });
        return () => this.held.delete(call);
      },
    });
    this.flood.set(options.floodLimits);
    this.userHost = { world: this.world, events, pushUpdate: (bot, body) => this.pushUpdate(bot, body), changed: () => this.stateWriter?.changed() };
  }

  /** Every event is also a possible change of state: the state file (if any) catches up. */
  override emit<K extends keyof EmulatorEvents>(event: K, ...args: EmulatorEvents[K]): boolean {
    if (event !== 'stateError') this.stateWriter?.changed();
    return (super.emit as (event: K, ...args: EmulatorEvents[K]) => boolean)(event, ...args);
  }

  /** Starts listening; `url` is the bot's apiRoot. */
  async start(): Promise<{ url: string }> {
    if (this.baseUrl) return { url: this.baseUrl };
    if (this.stateFile && !this.releaseStateFile) this.releaseStateFile = lockStateFile(this.stateFile);
    this.stopController = new AbortController();
    const router = createRouter(this, (token, method, params, signal) => this.callApi(token, method, params, signal), this.stopController.signal);
    const server = createServer((request, response) => void router.handle(request, response));
    // Outlive the clients' idle keep-alive (5 s for Node's agents): when both sides give up at
    // the same moment, a request sent on the closing socket fails with ECONNRESET.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.downPort ?? this.options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.downPort = undefined;
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    // Webhooks set before a stop() resume delivering.
    for (const bot of this.world.bots.values()) if (bot.webhook) bot.webhook.sink = this.startWebhook(bot);
    return { url: this.baseUrl };
  }

  /**
   * Answers waiting long polls, stops webhook deliveries and closes every connection; with a
   * state file, writes it (ids reserved but not handed out are given back, so the next run
   * continues right after the last one).
   */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) {
      this.stateWriter?.flush(true);
      this.letGoOfStateFile();
      return;
    }
    this.server = undefined;
    this.baseUrl = undefined;
    this.stopController.abort();
    for (const bot of this.world.bots.values()) bot.webhook?.sink.stop();
    // Let the released long polls write their (empty) answers before connections close.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    this.stateWriter?.flush(true);
    this.letGoOfStateFile();
  }

  /**
   * Telegram unreachable: stops listening (a bot's connection is refused) and drops every open
   * connection (held calls and long polls end), keeping everything else. up() listens again on
   * the same port. In-process only: the control API goes down with the rest.
   */
  async down(): Promise<void> {
    if (!this.server) return;
    const { port } = this.server.address() as AddressInfo;
    await this.stop();
    this.downPort = port;
  }

  /** Back after down(), on the same port (the url is the same). */
  async up(): Promise<{ url: string }> {
    return this.start();
  }

  private letGoOfStateFile(): void {
    this.releaseStateFile?.();
    this.releaseStateFile = undefined;
  }

  /** The apiRoot, once started. */
  get url(): string {
    if (!this.baseUrl) throw new Error('The emulator is not started');
    return this.baseUrl;
  }

  /** Registers a bot (or renames it); returns what its getMe answers. */
  addBot(token: string, profile: BotProfile = {}): User {
    return clone(this.world.addBot(token, profile).user);
  }

  /** Every bot, with whether it is long polling and its webhook. */
  bots(): Array<User & { polling: boolean; webhook: WebhookInfo }> {
    return [...this.world.bots.values()].map((bot) => ({ ...clone(bot.user), polling: bot.poll !== undefined, webhook: webhookInfoOf(bot) }));
  }

  botInfo(bot?: number | string): User {
    return clone(this.world.resolveBot(bot).user);
  }

  /**
   * A person who has started the bot (their private chat exists, chat id = user id). One of the
   * people (see addPerson) is registered with their name, phone… unless others are given.
   */
  user({ bot, ...options }: FakeUserOptions): FakeUser {
    const registered = this.world.users.get(options.id);
    // A person not yet registered starts with their web chat identity (name, phone…).
    const { label: _label, ...defaults }: Partial<Person> = (registered ? undefined : this.peopleById.get(options.id)) ?? {};
    const profile: UserProfile = { ...defaults, ...dropUndefined(options), id: options.id, firstName: options.firstName ?? registered?.firstName ?? defaults.firstName ?? `User ${options.id}` };
    this.world.addUser(profile);
    this.stateWriter?.changed();
    return new FakeUser(this.userHost, options.id, bot);
  }

  /**
   * Adds someone the web chat page lets a person be (or replaces the one with that id). They
   * become known to the bot, as after Telegram's "Start", when they first do something.
   */
  addPerson(options: PersonOptions): Person {
    const person = personOf(options);
    this.peopleById.set(person.id, person);
    this.addedPeople.set(person.id, person);
    this.stateWriter?.changed();
    if (this.world.users.has(person.id)) {
      const { label: _label, ...profile } = person;
      this.world.addUser(profile);
    }
    return { ...person };
  }

  /** The people the web chat page offers, in the order added. */
  people(): Person[] {
    return [...this.peopleById.values()].map((person) => ({ ...person }));
  }

  /** Everything the web chat page shows of a person's chat with a bot (default: the first bot, if any). */
  chatSnapshot(chatId: number, bot?: number | string): ChatSnapshot {
    return chatSnapshot(this.world, this.personFor(chatId), bot);
  }

  /**
   * Calls `listener` with each change of a person's chat with a bot (see chatSnapshot) until the
   * returned function is called. Listeners run inside the Bot API call that caused the change.
   */
  watchChat(chatId: number, listener: (event: WebChatEvent) => void, bot?: number | string): () => void {
    this.personFor(chatId);
    if (bot !== undefined) this.world.resolveBot(bot);
    return watchChat(this.world, this as EventEmitter, { person: () => this.personFor(chatId), bot }, listener);
  }

  /** Every call received (optionally of one method), oldest first. */
  calls(method?: string): CallRecord[] {
    const lower = method?.toLowerCase();
    return this.callLog.filter((call) => lower === undefined || call.method.toLowerCase() === lower);
  }

  /** The current messages of a chat, both directions, in id order. */
  chatMessages(chatId: number, bot?: number | string): Message[] {
    const chat = this.world.chat(this.world.resolveBot(bot), chatId);
    if (!chat) throw new Error(`No chat ${chatId}`);
    return [...chat.messages.values()].sort((a, b) => a.message_id - b.message_id).map(clone);
  }

  /** The next message a bot sends in this chat (optionally the next one matching). */
  nextBotMessage(chatId: number, predicate?: (message: Message) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<Message> {
    return waitForEvent(
      this,
      'chat',
      (event: ChatEvent) => (event.kind === 'message' && event.chatId === chatId && event.message.from?.is_bot && (!predicate || predicate(event.message)) ? event.message : undefined),
      timeoutMs,
      `a bot message in chat ${chatId}`,
    );
  }

  /** The next call of `method` (any case) received from now on, optionally the next one matching. */
  waitForCall(method: string, predicate?: (call: CallRecord) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<CallRecord> {
    const lower = method.toLowerCase();
    return waitForEvent(this, 'call', (call: CallRecord) => (call.method.toLowerCase() === lower && (!predicate || predicate(call)) ? call : undefined), timeoutMs, `a ${method} call`);
  }

  /** Whether a getUpdates request of the bot is waiting for updates right now. */
  isPolling(bot?: number | string): boolean {
    return this.world.resolveBot(bot).poll !== undefined;
  }

  /** Resolves once a getUpdates request of the bot is waiting (at once if one already is). */
  async waitForPolling(bot?: number | string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    if (this.world.bots.size > 0 && this.isPolling(bot)) return;
    await waitForEvent(this, 'poll', (event: { botId: number }) => (bot === undefined || event.botId === this.world.resolveBot(bot).id ? true : undefined), timeoutMs, 'a waiting getUpdates request');
  }

  webhookInfo(bot?: number | string): WebhookInfo {
    return webhookInfoOf(this.world.resolveBot(bot));
  }

  /** What getMyCommands answers for that scope and language. */
  commands(options: { scope?: Record<string, unknown>; languageCode?: string; bot?: number | string } = {}): BotCommand[] {
    return clone(this.world.resolveBot(options.bot).commands.get(commandScopeKey(options.scope, options.languageCode)) ?? []);
  }

  /** The last chat action (sendChatAction) in a chat, if any. */
  lastChatAction(chatId: number, bot?: number | string): { action: string; at: number } | undefined {
    return this.world.chat(this.world.resolveBot(bot), chatId)?.lastChatAction;
  }

  /** The next `count` calls of `method` ('*': of any method) fail with this error instead of running. */
  failNext(method: string, fault: Fault, count = 1): void {
    this.faults.failNext(method, fault, count);
  }

  /** Every call of `method` ('*': of any method) fails with this error until clearFaults(): an outage. */
  failUntilCleared(method: string, fault: Fault): void {
    this.faults.failUntilCleared(method, fault);
  }

  /**
   * Every call of `method` ('*': of any method) is accepted and never answered until
   * clearFaults() (calls already held stay held until the bot hangs up). With `afterRunning`
   * the method is carried out first: its effect happens, its answer is lost.
   */
  hang(method: string, options: HangFault = {}): void {
    this.faults.hang(method, options);
  }

  /** Disarms every fault (failNext, failUntilCleared, hang). */
  clearFaults(): void {
    this.faults.clear();
  }

  /** The calls held by a hang fault right now, oldest first. */
  hungCalls(method?: string): HungCall[] {
    const lower = method?.toLowerCase();
    return [...this.held].filter((call) => lower === undefined || call.method.toLowerCase() === lower).map((call) => ({ ...call }));
  }

  /** Resolves with the first call of `method` held by a hang fault (at once if one is held). */
  async waitForHungCall(method: string, predicate?: (call: HungCall) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<HungCall> {
    const held = this.hungCalls(method).find((call) => !predicate || predicate(call));
    if (held) return held;
    const lower = method.toLowerCase();
    return waitForEvent(this, 'hung', (call: HungCall) => (call.method.toLowerCase() === lower && (!predicate || predicate(call)) ? call : undefined), timeoutMs, `a held ${method} call`);
  }

  /**
   * Enforces Telegram's flood limits from now on (undefined: none): a message call (send…,
   * edit…, copy…, forward…) over `perSecond` for the bot or within `chatIntervalMs` of the
   * chat's previous one is answered 429 with retry_after 1 and not carried out.
   */
  setFloodLimits(limits: FloodLimits | undefined): void {
    this.flood.set(limits);
  }

  /** Every Bot API answer is delayed by this long (0: none). */
  setLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  /**
   * Forgets conversations, queued updates, webhooks, commands, callbacks, the call log, faults
   * and latency; flood limits go back to the constructor's. Bots and people stay, and update and message ids keep increasing, so a running
   * bot carries on.
   */
  reset(): void {
    this.world.reset();
    this.faults.clear();
    this.flood.set(this.options.floodLimits);
    this.latencyMs = 0;
    this.callLog = [];
    this.emit('reset');
  }

  /** Queues an update for a bot (FakeUser does this; tests rarely need to). */
  pushUpdate(bot: BotState, body: Omit<Update, 'update_id'>): Update {
    const update = bot.updates.push(body);
    this.emit('update', { botId: bot.id, update: clone(update) });
    return update;
  }

  /** A Bot API call made without HTTP, answered exactly as over HTTP. */
  callApi(token: string, method: string, params: Record<string, unknown> = {}, signal?: AbortSignal): Promise<ApiReply> {
    return this.api.invoke(token, method, params, signal ? { signal } : {});
  }

  /** Resolves with the bot's answer to a callback query (at once if already answered). */
  waitForCallbackAnswer(id: string, timeoutMs = DEFAULT_WAIT_MS): Promise<CallbackAnswer> {
    const query = this.world.callbackQueries.get(id);
    if (!query) return Promise.reject(new Error(`No callback query ${id}`));
    if (query.answer) return Promise.resolve(clone(query.answer));
    return waitForEvent(this, 'callbackAnswer', (event: { id: string; answer: CallbackAnswer }) => (event.id === id ? event.answer : undefined), timeoutMs, `the answer to callback query ${id}`);
  }

  /**
   * The first bot message in the chat with an id above `afterMessageId`, waiting for it if there is
   * none yet. Race-free for callers in another process: they pass the last id they saw.
   */
  async botMessageAfter(chatId: number, afterMessageId: number, timeoutMs = DEFAULT_WAIT_MS, bot?: number | string): Promise<Message> {
    const botId = this.world.resolveBot(bot).id;
    const existing = this.chatMessages(chatId, botId).find((message) => message.message_id > afterMessageId && message.from?.is_bot);
    if (existing) return existing;
    return waitForEvent(
      this,
      'chat',
      (event: ChatEvent) => (event.kind === 'message' && event.botId === botId && event.chatId === chatId && event.message.from?.is_bot && event.message.message_id > afterMessageId ? event.message : undefined),
      timeoutMs,
      `a bot message after ${afterMessageId} in chat ${chatId}`,
    );
  }

  /** One of the people, or a person registered otherwise (emulator.user(), the control API). */
  private personFor(chatId: number): Person {
    const person = this.peopleById.get(chatId);
    if (person) return { ...person };
    const user = this.world.users.get(chatId);
    if (user) return { ...user, label: '' };
    throw new Error(`No person ${chatId}`);
  }

  private startWebhook(bot: BotState) {
    return this.api.startWebhook(bot, bot.webhook!);
  }
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

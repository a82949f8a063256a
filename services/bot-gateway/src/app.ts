import { setTimeout as delay } from 'node:timers/promises';
import { eventConsumerDefaults } from '@dwld/config';
import type { Telegraf } from 'telegraf';
import { GrpcV1Downloaders } from '@dwld/contract';
import { isDatabaseReachable, type Database, type Sql } from '@dwld/db';
import { createEventBus, dispatchResult, downloaderChanged, type EventBus } from '@dwld/events';
import { errorMessage } from '@dwld/errors';
import type { Logger } from '@dwld/logger';
import { boundedCollect, Counter, createMetricsRegistry, Gauge, OpsServer, sendJson, type RouteHandler } from '@dwld/runtime';
import type { Redis } from 'ioredis';
import { createBot, registerCommands } from './bot';
import type { BotContext, BotDeps } from './bot/context';
import type { GatewayConfig } from './config';
import { handleDispatchResult } from './dispatch-results';
import { linksApi } from './http/links-api';
import { AddLinks, type IntakeOutcome } from './use-cases/add-links';
import { PrivateHostCheck } from './use-cases/private-host-check';
import { NodeDnsResolver } from './dns/node-dns-resolver';
import { LinkRateLimiter } from './rate-limit';
import { LinkQueue } from './store/link-queue';
import { UserStore } from './store/users';
import { DownloaderList } from './store/downloaders';
import { HandledUpdates } from './telegram/handled-updates';
import { retryDelayMs, TelegramOutbox } from './telegram/outbox';
import { describeTelegramFailure, TelegramHealth, TimedTelegram } from './telegram/timed-telegram';
import { webhookRoute } from './telegram/webhook';
import { drawCard } from './bot/card';
import { redrawIfPauseChanged, redrawImportedCards } from './bot/redraw-cards';
import { DispatchPauseState } from './dispatch-pause';
import { DownloaderAlerts } from './downloader-alerts';
import { OnceClaims } from './once';
import { textsFor } from './texts';

export interface GatewayDeps {
  config: GatewayConfig;
  db: Database;
  /** Raw statements on the same pool as `db`, for the hot insert. */
  sql: Sql;
  /** Commands (queue, publisher, slots); blocking readers duplicate it. */
  redis: Redis;
  logger: Logger;
  consumerName: string;
  clock?: () => Date;
}

export const GATEWAY_GROUP = 'bot-gateway';

/** The bot gateway: Telegram in (polling or webhook), the outbox out, dispatch results, HTTP. */
export class GatewayApp {
  readonly bot: Telegraf<BotContext>;
  readonly outbox: TelegramOutbox;
  readonly bus: EventBus;
  readonly links: LinkQueue;
  private readonly ops: OpsServer;
  private readonly deps: BotDeps;
  private readonly alerts: DownloaderAlerts;
  /** What the gateway's own calls say of Telegram (shown by /readyz). */
  readonly telegramHealth: TelegramHealth;
  private polling: Promise<void> | undefined;
  /** Set once getMe answered and updates flow in (polling runs, or the webhook is set). */
  private receiving = false;
  /** The background attempts to reach Telegram; stop() ends them. */
  private connecting: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly gateway: GatewayDeps) {
    const { config, db, redis, logger } = gateway;
    const clock = gateway.clock ?? (() => new Date());
    const metrics = createMetricsRegistry('bot-gateway');
    const updatesHandled = new Counter({ name: 'dwld_updates_total', help: 'Telegram updates handled, by type', labelNames: ['type'], registers: [metrics] });
    const linksAccepted = new Counter({ name: 'dwld_links_intake_total', help: 'Links received, by outcome', labelNames: ['status'], registers: [metrics] });
    const hostLookups = new Counter({ name: 'dwld_link_host_lookups_total', help: 'DNS lookups of link hosts (cache misses), by result', labelNames: ['result'], registers: [metrics] });

    this.links = new LinkQueue(db, gateway.sql);
    this.bus = createEventBus({ redis, prefix: config.STREAM_PREFIX, logger, consumerName: gateway.consumerName, consumerDefaults: eventConsumerDefaults(config) });
    const users = new UserStore(db);
    const pause = new DispatchPauseState(db);
    const fleet = new DownloaderList(db);
    this.telegramHealth = new TelegramHealth(logger);
    this.outbox = new TelegramOutbox({
      redis,
      prefix: config.STREAM_PREFIX,
      telegram: new TimedTelegram(config.TELEGRAM_BOT_TOKEN, { apiRoot: config.TELEGRAM_API_ROOT, webhookReply: false }, config.TELEGRAM_CALL_TIMEOUT_S, this.telegramHealth),
      logger,
      metrics,
      maxPerSecond: config.TELEGRAM_MAX_PER_SECOND,
      chatIntervalMs: config.TELEGRAM_CHAT_INTERVAL_S,
      giveUpAfterMs: config.TELEGRAM_GIVE_UP_AFTER_S,
      retryCapMs: config.TELEGRAM_RETRY_CAP_S,
      chatBacklog: config.TELEGRAM_CHAT_BACKLOG,
      onLinkReplySent: async (linkId, messageId, drawnPaused) => {
        const kept = await this.links.setReplyMessageId(linkId, messageId);
        // Dispatching paused or resumed while the card waited in the outbox: it says the wrong thing.
        if (kept && drawnPaused !== undefined) {
          await redrawIfPauseChanged(this.deps, linkId, drawnPaused).catch((err: unknown) => logger.warn('card not redrawn', { linkId, error: errorMessage(err) }));
        }
        return kept;
      },
    });
    const addLinks = new AddLinks({
      links: this.links,
      publisher: this.bus.publisher,
      logger,
      policy: { maxLength: config.MAX_LINK_LENGTH, allowPrivateHosts: config.ALLOW_PRIVATE_HOSTS },
      hosts: new PrivateHostCheck({
        resolver: new NodeDnsResolver({ servers: config.DNS_SERVERS, timeoutMs: config.DNS_TIMEOUT_S }),
        cacheMs: config.DNS_CACHE_S,
        unresolvedCacheMs: Math.min(config.DNS_CACHE_S, 10_000),
        logger,
        onLookup: (result) => hostLookups.inc({ result }),
      }),
      defaultQuality: config.DEFAULT_QUALITY,
      dispatchDelayMs: config.DISPATCH_DELAY_S,
      choices: config,
      maxPerMessage: config.MAX_LINKS_PER_MESSAGE,
      rate: new LinkRateLimiter(redis, config.STREAM_PREFIX, config.LINKS_PER_MINUTE),
      clock,
      onOutcome: (outcome) => linksAccepted.inc({ status: outcome.status }),
    });
    this.deps = {
      config,
      links: this.links,
      users,
      pause,
      once: new OnceClaims(redis, config.STREAM_PREFIX),
      addLinks,
      outbox: this.outbox,
      handledUpdates: new HandledUpdates(redis, config.STREAM_PREFIX),
      publisher: this.bus.publisher,
      fleet,
      downloaders: new GrpcV1Downloaders({ lookup: (name) => fleet.address(name), deadlineMs: config.DOWNLOADER_DEADLINE_S }),
      logger,
      clock,
    };
    this.bot = createBot(this.deps, updatesHandled, this.telegramHealth);

    const results = this.bus.subscribe({
      group: GATEWAY_GROUP,
      event: dispatchResult,
      handler: handleDispatchResult({ config, links: this.links, users, outbox: this.outbox, pause, logger, clock }),
      options: { concurrency: 8 },
    });
    this.alerts = new DownloaderAlerts({
      redis,
      prefix: config.STREAM_PREFIX,
      db,
      users,
      outbox: this.outbox,
      adminIds: config.ADMIN_IDS,
      defaultLanguage: config.DEFAULT_LANGUAGE,
      intervalMs: config.ADMIN_ALERT_INTERVAL_S,
      logger,
    });
    this.bus.subscribe({ group: GATEWAY_GROUP, event: downloaderChanged, handler: this.alerts.handle });
    const bus = this.bus;
    const deadLetters: Gauge = new Gauge({
      name: 'dwld_events_dead_letters',
      help: 'Entries set aside in a consumed stream\'s dead-letter stream (<stream>:dead), by stream, at scrape time; replay with `pnpm events:replay <stream>`',
      labelNames: ['stream'],
      registers: [metrics],
      // Bounded: /metrics must answer while Redis is silent (the last counts stand meanwhile).
      collect: boundedCollect(() => bus.deadLetters(), (dead) => dead.forEach(({ stream, count }) => deadLetters.set({ stream }, count))),
    });
    const lag: Gauge = new Gauge({
      name: 'dwld_stream_lag',
      help: 'dispatch.result entries not yet handled by this group',
      registers: [metrics],
      collect: boundedCollect(() => results.backlog(), (backlog) => lag.set((backlog.lag ?? 0) + backlog.pending)),
    });

    const api = { config, addLinks, logger, onQueued: (outcome: IntakeOutcome) => this.replyToApiLink(outcome) };
    // POST /link is the Go bot's address for the same thing: its scripts change only the host and
    // add the token. It sent every link at 10000 ("best"), so a link without a quality gets max there.
    const routes: Record<string, RouteHandler> = { 'POST /links': linksApi(api), 'POST /link': linksApi({ ...api, defaultQuality: 'max' }) };
    if (config.WEBHOOK_URL) {
      routes[`POST ${new URL(config.WEBHOOK_URL).pathname}`] = webhookRoute({
        secret: config.WEBHOOK_SECRET ?? '',
        handleUpdate: async (update, res) => {
          // Not connected yet (getMe unanswered): Telegram is told to deliver it again later.
          if (!this.receiving) return sendJson(res, 503, { error: 'not receiving updates yet' });
          await this.bot.handleUpdate(update, res);
        },
        logger,
      });
    }
    this.ops = new OpsServer({
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      metrics,
      logger,
      routes,
      readiness: [
        { name: 'database', check: () => isDatabaseReachable(db) },
        { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
        // Reported, never a reason to take the pod out: every replica shares the one Telegram, the
        // outbox keeps replies until it answers and POST /links works meanwhile. No call is
        // made here (a probe must not spend the bot's rate limit) and no URL is shown.
        {
          name: 'telegram',
          informational: true,
          check: async () => {
            const problem = this.telegramHealth.problem();
            if (problem !== undefined) throw new Error(problem);
            if (!this.receiving) throw new Error('answers, not receiving updates yet');
          },
        },
      ],
    });
  }

  async start(): Promise<{ httpPort: number }> {
    const { config, logger } = this.gateway;
    this.outbox.startWorker();
    this.alerts.startWorker();
    await this.bus.start();
    const httpPort = await this.ops.start();
    // Telegram down or rate-limiting must not stop the gateway (a crash loop under a restart
    // policy): it keeps trying in the background. start() waits for the first try only.
    let firstTry!: () => void;
    const tried = new Promise<void>((resolve) => (firstTry = resolve));
    this.connecting = this.connectTelegram(firstTry).finally(firstTry);
    await tried;
    // An admin who never opened the chat cannot get it ("chat not found"): expected, not a warning.
    for (const admin of config.ADMIN_IDS) await this.outbox.send({ chatId: admin, text: textsFor(config.DEFAULT_LANGUAGE).botStarted, deleteAfterMs: config.SERVICE_MESSAGE_TTL_S || undefined, mayBeRefused: true });
    redrawImportedCards(this.deps, logger);
    logger.info('gateway started', { mode: config.WEBHOOK_URL ? 'webhook' : 'polling', http: `${config.HTTP_HOST}:${httpPort}`, telegram: this.telegramHealth.describe() });
    return { httpPort };
  }

  /** Whether updates flow in (getMe answered; polling runs or the webhook is set). */
  get receivingUpdates(): boolean {
    return this.receiving;
  }

  /**
   * Reaches Telegram and starts receiving, trying again with capped backoff (or as long as a 429
   * asks) until it works or the gateway stops; long polling that stops for good is started
   * again the same way.
   */
  private async connectTelegram(firstTry: () => void): Promise<void> {
    const { config, logger } = this.gateway;
    const signal = this.stopping.signal;
    // Consecutive failures (to reach Telegram, or of polling that stopped soon after it began).
    let failures = 0;
    while (!signal.aborted) {
      let waitMs: number;
      try {
        await this.startReceiving();
        firstTry();
        if (failures > 0) logger.info('telegram reached: receiving updates', { mode: config.WEBHOOK_URL ? 'webhook' : 'polling' });
        if (config.WEBHOOK_URL) return;
        const since = Date.now();
        await this.polling;
        this.receiving = false;
        if (signal.aborted) return;
        // Polling ended by itself (logged): started again, sooner when it had been running a while.
        failures = Date.now() - since > 60_000 ? 1 : failures + 1;
        waitMs = retryDelayMs(failures, config.TELEGRAM_RETRY_CAP_S);
      } catch (err) {
        this.receiving = false;
        if (signal.aborted) return;
        failures += 1;
        const retryAfterS = (err as { response?: { parameters?: { retry_after?: unknown } } }).response?.parameters?.retry_after;
        waitMs = typeof retryAfterS === 'number' ? retryAfterS * 1000 : retryDelayMs(failures, config.TELEGRAM_RETRY_CAP_S);
        // Once at warn: Telegram's own state is in /readyz and the outbox's metrics meanwhile.
        logger[failures === 1 ? 'warn' : 'debug']('telegram not reachable: no updates are received until it answers; trying again in the background', {
          reason: describeTelegramFailure(err),
          retryInS: Math.round(waitMs / 100) / 10,
        });
        firstTry();
      }
      await delay(waitMs, undefined, { signal }).catch(() => undefined);
    }
  }

  private async startReceiving(): Promise<void> {
    const { config, logger } = this.gateway;
    this.bot.botInfo ??= await this.bot.telegram.getMe();
    if (!this.commandsRegistered) {
      await registerCommands(this.bot, config.ADMIN_IDS).catch((err: unknown) => logger.warn('setMyCommands failed', { error: describeTelegramFailure(err) }));
      this.commandsRegistered = true;
    }
    if (config.WEBHOOK_URL) {
      await this.bot.telegram.setWebhook(config.WEBHOOK_URL, { secret_token: config.WEBHOOK_SECRET, allowed_updates: ['message', 'edited_message', 'callback_query'] });
      this.receiving = true;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.polling = this.bot.launch({ allowedUpdates: ['message', 'edited_message', 'callback_query'] }, resolve).catch((err: unknown) => {
        if (!this.stopping.signal.aborted) logger.error('long polling stopped', { error: describeTelegramFailure(err) });
        reject(err);
      });
    });
    this.receiving = true;
    this.polling = this.polling!.catch(() => undefined);
  }

  private commandsRegistered = false;

  async stop(): Promise<void> {
    const { config, logger } = this.gateway;
    this.stopping.abort();
    // Sent directly: the outbox is about to stop, and one message per admin is within limits.
    if (this.receiving) await Promise.allSettled(config.ADMIN_IDS.map((admin) => this.bot.telegram.sendMessage(admin, textsFor(config.DEFAULT_LANGUAGE).botStopping)));
    if (!config.WEBHOOK_URL && this.polling) {
      try {
        this.bot.stop('stop');
      } catch {
        // Not running (it never started, or stopped by itself).
      }
      await this.polling.catch(() => undefined);
    }
    await this.connecting;
    this.receiving = false;
    await this.ops.stop();
    await this.bus.stop();
    await this.alerts.stop();
    await this.outbox.stop();
    this.deps.downloaders.close();
    logger.info('gateway stopped');
  }

  /** Links added over HTTP get the same reply (with its keyboard) in the owner's chat. */
  private async replyToApiLink(outcome: IntakeOutcome): Promise<void> {
    if (outcome.status !== 'queued') return;
    try {
      const { card, paused } = await drawCard(this.deps, outcome.link);
      await this.outbox.send({ chatId: String(outcome.link.chatId), ...card, linkReplyOf: outcome.link.id, drawnPaused: paused });
    } catch (err) {
      this.gateway.logger.warn('reply to an API link not sent', { linkId: outcome.link.id, error: errorMessage(err) });
    }
  }
}

import { boundedCollect, Counter, Gauge, Histogram, createMetricsRegistry, type Registry } from '@dwld/runtime';

/** The scheduler's Prometheus series (every one also carries service="scheduler"). */
export class SchedulerMetrics {
  readonly registry: Registry;
  readonly linksDue: Gauge;
  readonly paused: Gauge;
  readonly inFlight: Gauge;
  readonly polls: Counter;
  readonly claimed: Counter;
  readonly dispatched: Counter;
  readonly failures: Counter;
  readonly givenUp: Counter;
  readonly released: Counter;
  readonly claimsLost: Counter;
  readonly urgent: Counter;
  readonly publishFailures: Counter;
  readonly outboxRelayed: Counter;
  readonly outboxPending: Gauge;
  readonly deadLetters: Gauge;
  readonly foundInQueue: Counter;
  readonly routesLoads: Counter;
  readonly routesHeld: Gauge;
  readonly addressLookups: Counter;
  readonly dispatchLag: Histogram;
  readonly callSeconds: Histogram;

  /**
   * `countDue` is asked at each scrape (one indexed count), so the gauge is current; so are
   * `reads.outboxPending` (rows in the outbox) and `reads.deadLetters` (per stream consumed).
   * Each waits SCRAPE_WAIT_MS (@dwld/runtime) at most (boundedCollect): /metrics never waits on the database.
   */
  constructor(countDue: () => Promise<number>, reads: { outboxPending?: () => Promise<number>; deadLetters?: () => Promise<ReadonlyArray<{ stream: string; count: number }>> } = {}) {
    const registers = [(this.registry = createMetricsRegistry('scheduler'))];
    this.linksDue = new Gauge({
      name: 'dwld_scheduler_links_due',
      help: 'Queued links whose send time has passed (claimed or not), at scrape time (or the last count, while the database does not answer)',
      registers,
      collect: boundedCollect(countDue, (due) => this.linksDue.set(due)),
    });
    this.paused = new Gauge({ name: 'dwld_scheduler_paused', help: '1 while dispatching is paused (/pooloff), as last read', registers });
    this.inFlight = new Gauge({ name: 'dwld_scheduler_links_in_flight', help: 'Links this replica holds claimed and is handing over now', registers });
    this.polls = new Counter({ name: 'dwld_scheduler_polls_total', help: 'Looks for due links, by outcome', labelNames: ['outcome'], registers });
    this.claimed = new Counter({ name: 'dwld_scheduler_links_claimed_total', help: 'Links claimed by this replica', registers });
    this.dispatched = new Counter({ name: 'dwld_scheduler_links_dispatched_total', help: 'Links handed to a downloader, by downloader', labelNames: ['downloader'], registers });
    this.failures = new Counter({
      name: 'dwld_scheduler_dispatch_failures_total',
      help: 'Attempts that handed a link to no downloader, by reason (no_downloader, unavailable, refused, internal)',
      labelNames: ['reason'],
      registers,
    });
    this.givenUp = new Counter({ name: 'dwld_scheduler_links_failed_total', help: 'Links marked failed for good, by reason', labelNames: ['reason'], registers });
    this.released = new Counter({ name: 'dwld_scheduler_claims_released_total', help: 'Claims let go without a try (stopping)', registers });
    this.claimsLost = new Counter({ name: 'dwld_scheduler_claims_lost_total', help: 'Links not sent because their lease ran out and another replica took them', registers });
    this.urgent = new Counter({ name: 'dwld_scheduler_urgent_total', help: 'link.urgent events handled, by outcome', labelNames: ['outcome'], registers });
    this.foundInQueue = new Counter({
      name: 'dwld_scheduler_found_in_queue_total',
      help: 'Hand-overs without a clear answer (deadline, UNKNOWN) found done in the downloader\'s Queue, by downloader',
      labelNames: ['downloader'],
      registers,
    });
    this.publishFailures = new Counter({ name: 'dwld_scheduler_result_publish_failures_total', help: 'dispatch.result events that could not be published when tried (those in the outbox are tried again)', registers });
    this.outboxRelayed = new Counter({
      name: 'dwld_scheduler_outbox_relayed_total',
      help: 'Outbox events put on their stream, by path (direct: right after their commit; sweep: left behind, e.g. while Redis was down)',
      labelNames: ['path'],
      registers,
    });
    this.outboxPending = new Gauge({
      name: 'dwld_scheduler_outbox_pending',
      help: 'Events in the outbox (PostgreSQL) not yet on their stream, at scrape time (or the last count, while the database does not answer)',
      registers,
      ...(reads.outboxPending ? { collect: boundedCollect(reads.outboxPending, (pending) => this.outboxPending.set(pending)) } : {}),
    });
    this.deadLetters = new Gauge({
      name: 'dwld_events_dead_letters',
      help: 'Entries set aside in a consumed stream\'s dead-letter stream (<stream>:dead), by stream, at scrape time; replay with `pnpm events:replay <stream>`',
      labelNames: ['stream'],
      registers,
      ...(reads.deadLetters ? { collect: boundedCollect(reads.deadLetters, (counts) => counts.forEach(({ stream, count }) => this.deadLetters.set({ stream }, count))) } : {}),
    });
    this.routesLoads = new Counter({
      name: 'dwld_scheduler_routes_loads_total',
      help: 'Reads of the whole downloaders table (the routing list), by reason: start, changed (its version moved), periodic (ROUTES_RELOAD_S)',
      labelNames: ['reason'],
      registers,
    });
    this.routesHeld = new Gauge({ name: 'dwld_scheduler_routes_downloaders', help: 'Downloaders in the routing list this replica holds in memory', registers });
    this.addressLookups = new Counter({
      name: 'dwld_scheduler_address_lookups_total',
      help: 'Downloader addresses read from the table at the call (the routing list in memory was not known to be current)',
      registers,
    });
    this.dispatchLag = new Histogram({
      name: 'dwld_scheduler_dispatch_lag_seconds',
      help: 'From a link\'s send time to its hand-over',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    this.callSeconds = new Histogram({
      name: 'dwld_scheduler_downloader_call_seconds',
      help: 'Hand-over latency, by downloader and outcome (ok, no_downloader, unavailable, refused, internal)',
      labelNames: ['downloader', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }
}

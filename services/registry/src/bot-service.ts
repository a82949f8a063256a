import * as grpc from '@grpc/grpc-js';
import type { RegisterDownloaderRequest } from '@dwld/contract';
import { isDatabaseUnavailable, type Downloader } from '@dwld/db';
import type { Logger } from '@dwld/logger';
import { hasBearerToken } from './auth';
import type { DownloaderStore, RegisterOutcome } from './downloader-store';
import { describePatternNotes, type PatternNote } from '@dwld/domain';
import { PeerRateLimiter, RefusalLog, rateKeyOf, type InFlightLimit } from './admission';
import { LatestWins } from './coalescer';
import { peerAddress, validateRegistration, type Registration } from './registration';
import { errorMessage, ForbiddenError, InternalError, InvalidInputError, LimitReachedError, UnavailableError } from '@dwld/errors';

export type RegistrationOutcome = 'registered' | 'unauthenticated' | 'invalid' | 'rate_limited' | 'busy' | 'full' | 'unavailable' | 'error';

/** How much the registry takes: see the MAX_* and *_PER_PEER settings in config.ts. */
export interface RegistrationLimits {
  /** Per caller address (rateKeyOf): a minute's average, and a burst. */
  perPeerPerMinute: number;
  burstPerPeer: number;
  /** Names the table may hold. */
  maxDownloaders: number;
  /** Bytes of patterns per downloader. */
  maxPatternBytes: number;
}

export interface BotServiceDeps {
  store: DownloaderStore;
  logger: Logger;
  /** When set, callers must send `authorization: Bearer <token>`. */
  registrationToken?: string;
  limits: RegistrationLimits;
  /** Registrations being stored at once (shared with the metrics that report it). */
  inFlight: InFlightLimit;
  /**
   * Told after a registration that changed something was stored: a new downloader, another
   * host, port or patterns, or healthy again. Not told of a downloader registering again as it
   * stands, which each one does every REGISTER_INTERVAL_S.
   */
  onChanged: (downloader: Downloader) => Promise<void>;
  /** Counts outcomes for metrics. */
  onOutcome?: (outcome: RegistrationOutcome) => void;
  now?: () => number;
}

/** One validated registration with what its caller's log lines need. */
interface Request {
  registration: Registration;
  notes: PatternNote[];
  hostFromPeer: boolean;
  sentHost: string | undefined;
  peer: string;
}

/** Refusals of one kind are logged once per this long (with the count kept quiet meanwhile). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * grpc.v1.Bot/RegisterDownloader. In order, each step cheaper than the next and refusing before
 * anything is stored: the caller's rate (a token bucket per address), the token, validation,
 * a slot among the registrations in flight (none free: RESOURCE_EXHAUSTED at once, nothing
 * queued), then the write, one at a time per name (LatestWins: equal registrations of a name
 * share one write, a different one waits for its turn and the latest wins). A new name is
 * stored only while the table holds fewer than maxDownloaders.
 */
export function registerDownloaderHandler(deps: BotServiceDeps) {
  const { limits, logger, inFlight } = deps;
  const peers = new PeerRateLimiter({ perSecond: limits.perPeerPerMinute / 60, burst: limits.burstPerPeer, now: deps.now });
  const refusals = new RefusalLog(REFUSAL_LOG_INTERVAL_MS, deps.now);
  const writes = new LatestWins<Request, RegisterOutcome>(
    (request) => write(deps, request),
    ({ registration: r }) => JSON.stringify([r.host, r.port, r.patterns]),
  );

  /** Counts and (now and then) logs a refusal; returns the error to answer with. */
  const refused = (outcome: RegistrationOutcome, message: string, details: Record<string, unknown>, error: Error): Error => {
    deps.onOutcome?.(outcome);
    const log = refusals.shouldLog(outcome);
    if (log) logger.warn(message, { ...details, ...(log.quiet > 0 ? { alsoRefusedSinceLastLine: log.quiet } : {}) });
    return error;
  };

  return async (request: RegisterDownloaderRequest, call: grpc.ServerUnaryCall<RegisterDownloaderRequest, unknown>): Promise<Record<string, never>> => {
    const peer = call.getPeer();
    const address = peerAddress(peer);
    if (!peers.take(rateKeyOf(address))) {
      throw refused('rate_limited', 'registration refused: too many from one address', { peer }, new LimitReachedError(`too many registrations from this address (at most ${limits.perPeerPerMinute} a minute, ${limits.burstPerPeer} at once); register again later`));
    }
    if (deps.registrationToken !== undefined && !hasBearerToken(call.metadata.get('authorization'), deps.registrationToken)) {
      throw refused('unauthenticated', 'registration refused: missing or wrong token', { peer }, new ForbiddenError('a valid registration token is required (metadata "authorization: Bearer <token>")'));
    }
    const result = validateRegistration(request, { peerAddress: address, maxPatternBytes: limits.maxPatternBytes });
    if (!result.ok) throw refused('invalid', 'registration refused: invalid request', { peer, reason: result.reason }, new InvalidInputError(result.reason));
    const { registration, notes, hostFromPeer } = result;

    const release = inFlight.tryAcquire();
    if (!release) {
      throw refused('busy', 'registration refused: too many in flight', { peer, inFlight: inFlight.max }, new LimitReachedError(`the registry is storing ${inFlight.max} registrations already; register again shortly`));
    }
    let outcome: RegisterOutcome;
    try {
      ({ result: outcome } = await writes.run(registration.name, { registration, notes, hostFromPeer, sentHost: request.serverHost, peer }));
    } catch (err) {
      const unavailable = isDatabaseUnavailable(err);
      deps.onOutcome?.(unavailable ? 'unavailable' : 'error');
      throw unavailable
        ? new UnavailableError('the registry cannot reach its database; register again shortly', { cause: err })
        : new InternalError('the registry could not store the registration', { cause: err });
    } finally {
      release();
    }
    if (outcome.kind === 'full') {
      throw refused('full', 'registration refused: the table is full', { peer, maxDownloaders: limits.maxDownloaders }, new LimitReachedError(`the registry holds its most downloaders (${limits.maxDownloaders}, MAX_DOWNLOADERS): a new name is refused until one is forgotten`));
    }
    deps.onOutcome?.('registered');
    return {};
  };
}

/**
 * Stores one registration and, when it changed something, says so (log and onChanged): once per
 * write, however many callers share it, with the details of the request written.
 */
async function write(deps: BotServiceDeps, { registration, notes, hostFromPeer, sentHost, peer }: Request): Promise<RegisterOutcome> {
  const { logger, store, limits } = deps;
  let outcome: RegisterOutcome;
  try {
    outcome = await store.register(registration, new Date(), limits.maxDownloaders);
  } catch (err) {
    // An outage is logged once, by the database pool, not at each downloader's every try.
    logger[isDatabaseUnavailable(err) ? 'debug' : 'error']('registration not stored', { peer, downloader: registration.name, error: errorMessage(err) });
    throw err;
  }
  if (outcome.kind === 'full') return outcome;
  if (outcome.kind === 'unchanged') {
    logger.debug('downloader registered again, unchanged', { downloader: registration.name, peer });
    return outcome;
  }
  // Told once per new or changed registration, not at each identical one (a downloader that
  // re-registers every few seconds with the same sloppy list is warned about once).
  if (hostFromPeer) {
    logger.info('downloader address taken from the call: it registered an empty or all-interfaces host', { downloader: registration.name, sent: sentHost, address: registration.host, peer });
  }
  if (notes.length > 0) {
    logger.warn('downloader registered with patterns dropped or rewritten', { downloader: registration.name, patterns: registration.patterns, notes: describePatternNotes(notes) });
  }
  logger.info('downloader registered', { downloader: registration.name, address: `${registration.host}:${registration.port}`, patterns: registration.patterns.length, peer });
  await deps.onChanged(outcome.downloader);
  return outcome;
}

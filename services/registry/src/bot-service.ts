import * as grpc from '@grpc/grpc-js';
import type { RegisterDownloaderRequest } from '@dwld/contract';
import { isDatabaseUnavailable, type Downloader } from '@dwld/db';
import type { Logger } from '@dwld/logger';
import { hasBearerToken } from './auth';
import type { DownloaderStore, RegisterOutcome } from './downloader-store';
import { describePatternNotes } from '@dwld/domain';
import { peerAddress, validateRegistration } from './registration';
import { errorMessage, ForbiddenError, InternalError, InvalidInputError, UnavailableError } from '@dwld/errors';

export interface BotServiceDeps {
  store: DownloaderStore;
  logger: Logger;
  /** When set, callers must send `authorization: Bearer <token>`. */
  registrationToken?: string;
  /**
   * Told after a registration that changed something was stored: a new downloader, another
   * host, port or patterns, or healthy again. Not told of a downloader registering again as it
   * stands, which each one does every REGISTER_INTERVAL_S.
   */
  onChanged: (downloader: Downloader) => Promise<void>;
  /** Counts outcomes for metrics. */
  onOutcome?: (outcome: 'registered' | 'unauthenticated' | 'invalid' | 'unavailable' | 'error') => void;
}

/**
 * grpc.v1.Bot/RegisterDownloader: authenticate, validate, upsert by name. Every refusal
 * happens before anything is stored.
 */
export function registerDownloaderHandler(deps: BotServiceDeps) {
  return async (request: RegisterDownloaderRequest, call: grpc.ServerUnaryCall<RegisterDownloaderRequest, unknown>): Promise<Record<string, never>> => {
    const peer = call.getPeer();
    if (deps.registrationToken !== undefined && !hasBearerToken(call.metadata.get('authorization'), deps.registrationToken)) {
      deps.onOutcome?.('unauthenticated');
      deps.logger.warn('registration refused: missing or wrong token', { peer });
      throw new ForbiddenError('a valid registration token is required (metadata "authorization: Bearer <token>")');
    }
    const result = validateRegistration(request, { peerAddress: peerAddress(peer) });
    if (!result.ok) {
      deps.onOutcome?.('invalid');
      deps.logger.warn('registration refused: invalid request', { peer, reason: result.reason });
      throw new InvalidInputError(result.reason);
    }
    const { registration, notes, hostFromPeer } = result;
    let outcome: RegisterOutcome;
    try {
      outcome = await deps.store.register(registration, new Date());
    } catch (err) {
      const unavailable = isDatabaseUnavailable(err);
      deps.onOutcome?.(unavailable ? 'unavailable' : 'error');
      // An outage is logged once, by the database pool, not at each downloader's every try.
      deps.logger[unavailable ? 'debug' : 'error']('registration not stored', { peer, downloader: registration.name, error: errorMessage(err) });
      throw unavailable
        ? new UnavailableError('the registry cannot reach its database; register again shortly', { cause: err })
        : new InternalError('the registry could not store the registration', { cause: err });
    }
    deps.onOutcome?.('registered');
    const details = { downloader: registration.name, address: `${registration.host}:${registration.port}`, patterns: registration.patterns.length, peer };
    if (!outcome.changed) {
      deps.logger.debug('downloader registered again, unchanged', details);
      return {};
    }
    // Told once per new or changed registration, not at each identical one (a downloader that
    // re-registers every few seconds with the same sloppy list is warned about once).
    if (hostFromPeer) {
      deps.logger.info('downloader address taken from the call: it registered an empty or all-interfaces host', { downloader: registration.name, sent: request.serverHost, address: registration.host, peer });
    }
    if (notes.length > 0) {
      deps.logger.warn('downloader registered with patterns dropped or rewritten', { downloader: registration.name, patterns: registration.patterns, notes: describePatternNotes(notes) });
    }
    deps.logger.info('downloader registered', details);
    await deps.onChanged(outcome.downloader);
    return {};
  };
}

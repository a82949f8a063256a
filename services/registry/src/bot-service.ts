import * as grpc from '@grpc/grpc-js';
import { GrpcStatusError, type RegisterDownloaderRequest } from '@dwld/contract';
import { isDatabaseUnavailable, type Downloader } from '@dwld/db';
import type { Logger } from '@dwld/logger';
import { hasBearerToken } from './auth';
import type { DownloaderStore } from './downloader-store';
import { validateRegistration } from './registration';

export interface BotServiceDeps {
  store: DownloaderStore;
  logger: Logger;
  /** When set, callers must send `authorization: Bearer <token>`. */
  registrationToken?: string;
  /** Told after each registration was stored. */
  onRegistered: (downloader: Downloader) => Promise<void>;
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
      throw new GrpcStatusError(grpc.status.UNAUTHENTICATED, 'a valid registration token is required (metadata "authorization: Bearer <token>")');
    }
    const result = validateRegistration(request);
    if (!result.ok) {
      deps.onOutcome?.('invalid');
      deps.logger.warn('registration refused: invalid request', { peer, reason: result.reason });
      throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, result.reason);
    }
    const { registration } = result;
    let downloader: Downloader;
    try {
      downloader = await deps.store.register(registration, new Date());
    } catch (err) {
      const unavailable = isDatabaseUnavailable(err);
      deps.onOutcome?.(unavailable ? 'unavailable' : 'error');
      deps.logger.error('registration not stored', { peer, downloader: registration.name, error: (err as Error).message });
      throw new GrpcStatusError(
        unavailable ? grpc.status.UNAVAILABLE : grpc.status.INTERNAL,
        unavailable ? 'the registry cannot reach its database; register again shortly' : 'the registry could not store the registration',
      );
    }
    deps.onOutcome?.('registered');
    deps.logger.info('downloader registered', { downloader: registration.name, address: `${registration.host}:${registration.port}`, patterns: registration.patterns.length, peer });
    await deps.onRegistered(downloader);
    return {};
  };
}

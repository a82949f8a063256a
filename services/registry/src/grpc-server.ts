import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { botService, loadContract, startGrpcServer, unary, type RunningServer } from '@dwld/contract';
import { registerDownloaderHandler, type BotServiceDeps } from './bot-service';

export const BOT_SERVICE_NAME = 'grpc.v1.Bot';
const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';
/**
 * Calls one connection may have open at once. A downloader makes one; a client that pipelines
 * thousands (and reads the answers slowly) would otherwise keep each call, its request
 * included, in the heap until its answer is sent: in a flood that alone took the registry's
 * live heap from ~12 to ~55 MB of its 64. Calls beyond it wait in the client.
 */
const MAX_CALLS_PER_CONNECTION = 32;

export interface RegistryGrpcServer extends RunningServer {
  /** Tells health checkers the registry is going away (before it stops accepting calls). */
  markNotServing(): void;
}

/**
 * Serves grpc.v1.Bot, plus grpc.health.v1.Health and server reflection for grpcurl and
 * orchestrators. A request larger than `maxRequestBytes` is refused by grpc-js as it arrives
 * (RESOURCE_EXHAUSTED), before it is decoded; see MAX_CALLS_PER_CONNECTION.
 */
export async function startRegistryGrpcServer(deps: BotServiceDeps, host: string, port: number, maxRequestBytes: number): Promise<RegistryGrpcServer> {
  const health = new HealthImplementation({ '': 'SERVING', [BOT_SERVICE_NAME]: 'SERVING' });
  const healthDefinition = protoLoader.loadSync(healthProtoPath, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const reflection = new ReflectionService({ ...loadContract(), ...healthDefinition }, { services: [BOT_SERVICE_NAME, HEALTH_SERVICE_NAME] });
  const server = await startGrpcServer(
    (s) => {
      s.addService(botService(), { RegisterDownloader: unary(registerDownloaderHandler(deps)) });
      health.addToServer(s);
      reflection.addToServer(s);
    },
    host,
    port,
    { 'grpc.max_receive_message_length': maxRequestBytes, 'grpc.max_concurrent_streams': MAX_CALLS_PER_CONNECTION },
  );
  return {
    ...server,
    markNotServing() {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(BOT_SERVICE_NAME, 'NOT_SERVING');
    },
  };
}

import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { botService, loadContract, startGrpcServer, unary, type RunningServer } from '@dwld/contract';
import { registerDownloaderHandler, type BotServiceDeps } from './bot-service';

export const BOT_SERVICE_NAME = 'grpc.v1.Bot';
const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

export interface RegistryGrpcServer extends RunningServer {
  /** Tells health checkers the registry is going away (before it stops accepting calls). */
  markNotServing(): void;
}

/**
 * Serves grpc.v1.Bot, plus grpc.health.v1.Health and server reflection for grpcurl and
 * orchestrators. A request larger than `maxRequestBytes` is refused by grpc-js as it arrives
 * (RESOURCE_EXHAUSTED), before it is decoded.
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
    { 'grpc.max_receive_message_length': maxRequestBytes },
  );
  return {
    ...server,
    markNotServing() {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(BOT_SERVICE_NAME, 'NOT_SERVING');
    },
  };
}

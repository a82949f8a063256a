import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** proto/ at the repository root: the wire contract shared with the deployed downloaders. */
export const PROTO_DIR = path.resolve(__dirname, '../../../proto');

// keepCase: field names exactly as on the wire (serverName, maxQuality…), as the deployed Go
// code spells them. defaults: absent scalars read as their zero value, except proto3
// `optional` fields, which stay absent unless set (presence is part of the contract).
const LOAD_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

let loaded: protoLoader.PackageDefinition | undefined;

/** Both .proto files, parsed once per process (it is pure data, so caching it is safe). */
export function loadContract(): protoLoader.PackageDefinition {
  loaded ??= protoLoader.loadSync(['bot.proto', 'downloader.proto'], { ...LOAD_OPTIONS, includeDirs: [PROTO_DIR] });
  return loaded;
}

function service(name: string): grpc.ServiceDefinition {
  const definition = loadContract()[name];
  if (!definition || !('SetToQueue' in definition || 'RegisterDownloader' in definition)) throw new Error(`proto/ has no service ${name}`);
  return definition as grpc.ServiceDefinition;
}

/** grpc.v1.Bot, for `server.addService` and for clients. */
export function botService(): grpc.ServiceDefinition {
  return service('grpc.v1.Bot');
}

/** grpc.v1.Downloader, for `server.addService` (simulated downloaders) and for clients. */
export function downloaderService(): grpc.ServiceDefinition {
  return service('grpc.v1.Downloader');
}

export const BotClient: grpc.ServiceClientConstructor = grpc.makeClientConstructor(botService(), 'grpc.v1.Bot');
export const DownloaderGrpcClient: grpc.ServiceClientConstructor = grpc.makeClientConstructor(downloaderService(), 'grpc.v1.Downloader');

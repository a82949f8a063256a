export * from './messages';
export { PROTO_DIR, loadContract, botService, downloaderService, BotClient, DownloaderGrpcClient } from './proto';
export * from './downloader-port';
export * from './downloader-client';
export * from './grpc-v1-downloaders';
export * from './server';
export * from './bot-client';

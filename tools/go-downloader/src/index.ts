export * from './go-facts';
export * from './go-downloader';
export * from './register-once';

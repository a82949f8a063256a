export * from './ops-server';
export * from './shutdown';
export * from './connections';
export { Counter, Gauge, Histogram, Registry } from 'prom-client';
export * from './secrets';
export * from './batcher';
export * from './repeating';
export * from './scrape';

export * from './ops-server';
export * from './shutdown';
export { Counter, Gauge, Histogram, Registry } from 'prom-client';
export * from './secrets';
export * from './batcher';

export * from './table';
export * from './links';
export * from './dispatches';
export * from './downloaders';
export * from './outbox';

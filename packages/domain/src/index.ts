export * from './links';
export * from './routing';
export * from './retry';
export * from './permissions';
export * from './quality';
export * from './root-links';

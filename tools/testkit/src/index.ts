export * from './wait';
export * from './redis';
export * from './postgres';
export * from './ports';
export * from './process';
export * from './proxy';
export * from './http';
export * from './dns';

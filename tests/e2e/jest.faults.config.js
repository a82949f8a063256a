// `pnpm test:faults`: the suite that breaks the running system on purpose (one file at a time).
const base = require('./jest.config.js');
module.exports = { ...base, testMatch: ['<rootDir>/faults/**/*.faults.ts'], maxWorkers: 1 };

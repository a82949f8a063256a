// Shared jest settings: @swc/jest strips types (tsc type-checks in `build`), and
// workspace packages resolve to their sources so tests never run stale dist/ code.
const path = require('node:path');

/** @param {string} dir the package directory */
module.exports = function jestConfig(dir) {
  return {
    rootDir: dir,
    testEnvironment: 'node',
    roots: ['<rootDir>/src'],
    testMatch: ['**/*.test.ts'],
    transform: {
      '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
    },
    moduleNameMapper: {
      '^@dwld/([a-z-]+)$': path.join(__dirname, 'packages/$1/src/index.ts'),
    },
    testTimeout: 30000,
  };
};

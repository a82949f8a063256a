// Shared jest settings: @swc/jest strips types (tsc type-checks in `build`), and
// workspace packages resolve to their sources so tests never run stale dist/ code.
const fs = require('node:fs');
const path = require('node:path');

// Every workspace package by name → its sources: production code in packages/, test and
// sandbox tooling in tools/ (see docs/ARCHITECTURE.md, "Layout").
const SOURCES = {};
for (const group of ['packages', 'tools']) {
  for (const dir of fs.readdirSync(path.join(__dirname, group))) {
    const manifest = path.join(__dirname, group, dir, 'package.json');
    if (fs.existsSync(manifest) && fs.existsSync(path.join(__dirname, group, dir, 'src/index.ts'))) SOURCES[`^${JSON.parse(fs.readFileSync(manifest, 'utf8')).name}$`] = path.join(__dirname, group, dir, 'src/index.ts');
  }
}

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
    moduleNameMapper: SOURCES,
    testTimeout: 30000,
  };
};

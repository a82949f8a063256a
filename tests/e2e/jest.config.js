// Whole-system tests: the services run as built, in their own processes.
const base = require('../../jest.config.base.js')(__dirname);
module.exports = { ...base, roots: ['<rootDir>'], testTimeout: 120000 };

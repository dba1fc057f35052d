// `npm run test:unit`: the in-process suites only (test/unit mirrors functions/src). No global
// setup: nothing is built, no process is started, so the loop takes seconds.
const base = require('./jest.config.cjs');

/** @type {import('jest').Config} */
module.exports = { ...base, roots: ['<rootDir>/test/unit'], globalSetup: undefined, maxWorkers: '50%' };

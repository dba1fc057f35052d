/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2023', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  // Integration suites start real processes (kube-apiserver, helm, moto): two cores, two workers.
  maxWorkers: 2,
  testTimeout: 120_000,
  // Builds the Lambda packages once for every suite that drives the bundled handlers.
  globalSetup: '<rootDir>/test/global-setup.ts',
};

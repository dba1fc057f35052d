/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // @kubernetes/client-node 2 and some of its dependencies ship ES modules only; swc turns them into CommonJS too.
  transformIgnorePatterns: [
    '/node_modules/(?!(@kubernetes/client-node|openid-client|jose|oauth4webapi|socks-proxy-agent|agent-base|https-proxy-agent|proxy-agent-negotiate|proxy-from-env)/)',
  ],
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      { jsc: { target: 'es2023', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
    ],
  },
  // Integration suites start real processes (kube-apiserver, helm, moto): two cores, two workers.
  maxWorkers: 2,
  testTimeout: 120_000,
  // Builds the Lambda packages once for every suite that drives the bundled handlers.
  globalSetup: '<rootDir>/test/global-setup.ts',
};

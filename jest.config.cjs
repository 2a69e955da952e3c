// Tests run from TypeScript sources: swc turns them into CommonJS for jest, and
// workspace packages resolve to their src/ so no build is needed before testing.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] };
const moduleNameMapper = {
  '^@st/([a-z-]+)$': ['<rootDir>/libs/$1/src/index.ts', '<rootDir>/services/$1/src/index.ts'],
  '^(\\.{1,2}/.*)\\.js$': '$1',
};
const common = { transform, moduleNameMapper, testEnvironment: 'node', rootDir: __dirname };
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/*/src/**/*.test.ts', '<rootDir>/services/*/src/**/*.test.ts', '<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/src/**/*.test.ts'], slowTestThreshold: 30 },
  ],
};

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'functions/packages/', 'coverage/', '.venv/', '.tmp/', 'taskcat_outputs/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // `import { z }` drags every zod locale into the Lambda bundles (450 KB against 85 KB).
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: "Use `import * as z from 'zod'`: the named `z` export defeats tree-shaking.",
        },
      ],
    },
  },
  {
    // The Lambda code stays off the generated Kubernetes client (about 1.7 MB with undici); tests may use it.
    // And it ships alone: nothing of the repository's tooling, tests or benchmarks may reach a bundle.
    files: ['functions/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              message: 'Use functions/src/kube (KubeClient): the generated client would triple the package.',
            },
          ],
          patterns: [
            {
              group: ['**/scripts/**', '**/test/**', '**/bench/**'],
              message: 'functions/src is the Lambda code: it imports nothing from scripts/, test/ or bench/.',
            },
          ],
        },
      ],
    },
  },
  {
    // Layers point one way: kube/ and helm/ (and shared/) know nothing of the custom-resource runtime or the
    // resources built on them; resources/ turns their errors into Reasons (resources/cluster-errors.ts).
    // A rule of its own name, so the Lambda-code restrictions above still apply to these files.
    files: ['functions/src/kube/**', 'functions/src/helm/**', 'functions/src/shared/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/runtime', '**/runtime/**', '**/resources', '**/resources/**', '**/providers/**'],
              message:
                'kube/, helm/ and shared/ import nothing from runtime/, resources/ or providers/: throw an error of the layer (kube/errors.ts, helm/errors.ts) instead.',
            },
          ],
        },
      ],
    },
  },
  {
    // Repository tooling (bootstrap, build, lint, test runner) must work without the embedded cloud.
    files: ['scripts/dev/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/local', '**/local/**'],
              message:
                'scripts/dev imports nothing from scripts/local: the local cloud builds on the tooling, not the other way round.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests and benchmarks reach the local cloud through its one public entry, scripts/local/index.ts.
    files: ['test/**', 'bench/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/scripts/local/**'],
              message: "Import the local cloud from 'scripts/local' (its index.ts), not its internals.",
            },
          ],
        },
      ],
    },
  },
  {
    // Plain Node scripts: CommonJS files and the bootstrap, which run without a build step.
    files: ['**/*.cjs', '**/*.mjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
);

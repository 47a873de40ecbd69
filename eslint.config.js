// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/generated/**',
      '.cache/**',
      'eslint.config.js',
      'cli/bin/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'describe', property: 'only', message: 'No focused tests.' },
        { object: 'it', property: 'only', message: 'No focused tests.' },
        { object: 'test', property: 'only', message: 'No focused tests.' },
        { object: 'describe', property: 'skip', message: 'A skipped test is not a passing test.' },
        { object: 'it', property: 'skip', message: 'A skipped test is not a passing test.' },
        { object: 'test', property: 'skip', message: 'A skipped test is not a passing test.' },
      ],
    },
  },
  {
    // process.env is read in one place only: the config lib (and test/bench/script harnesses).
    files: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts'],
    ignores: ['libs/config/src/**', 'libs/testing/src/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through @tributary/config.' },
      ],
    },
  },
  {
    // The domain layer holds business rules only: no transport, database, file-system or framework
    // imports; it reaches them through the ports its data-access/ adapters implement.
    files: ['services/*/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'kafkajs',
                'pg',
                'fastify',
                '@fastify/*',
                'ioredis',
                'redlock',
                '@kafkajs/*',
                '@aws-sdk/*',
                '@duckdb/*',
                'sharp',
                'nodemailer',
                'croner',
                'node:fs',
                'node:fs/*',
                'fs',
                'fs/*',
                'node:child_process',
                'node:net',
                'node:http',
                'node:https',
                'node:dgram',
              ],
              message: 'domain/ has no I/O imports: put them in data-access/ or entry-points/.',
            },
          ],
        },
      ],
    },
  },
);

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/', 'docs/images/', 'src/admin/assets/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/cli/**', 'bench/**', 'examples/**', 'bin/**', 'scripts/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['src/core/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:fs', 'node:fs/*', 'node:net', 'node:http', 'fs', 'node:child_process', '../loaders/*', '../server/*', '../adapters/*'] }],
      'no-restricted-globals': ['error', { name: 'process', message: 'src/core is pure: inject what you need.' }],
    },
  },
);

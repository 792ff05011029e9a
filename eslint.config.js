// eslint (flat config): typescript-eslint's type-checked recommended rules on every
// TypeScript file; formatting is prettier's (npm run format:check), so no stylistic rules.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['proto/gen/**', 'node_modules/**', 'cli/.build/**', 'dist/**', '.state/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // an async function without await is how a method keeps a Promise-returning
      // interface (close(), handlers); forcing an await there adds nothing
      '@typescript-eslint/require-await': 'off',
      // `_name` marks a parameter an interface requires but this implementation ignores
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // plain JavaScript (this file, the lease keeper's worker): no type information
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);

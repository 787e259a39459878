import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root,
  resolve: {
    // Node loads graphql's index.js for type-graphql and Apollo; vite would pick index.mjs: two realms.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Vitest leaves a core free by default, which on a 2-core machine runs the files one by one; they
    // mostly wait on PostgreSQL, Redis and HTTP, so two at a time is faster (each has its own database).
    maxWorkers: 2,
    // Each file still gets its own database, Redis prefix and apps (see support/harness.ts); what the
    // files share is only the loaded modules, so the app's code is imported once per worker instead
    // of once per file (an import costs seconds of CPU here).
    isolate: false,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});

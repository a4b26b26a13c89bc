import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/test/**/*.test.ts', 'functions/test/**/*.test.ts', 'infra/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
  },
});

import adapter from '@sveltejs/adapter-static';
import { sveltekit } from '@sveltejs/kit/vite';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

// `npm run dev -w web` proxies the API and /config.json to a local cloud on :8080 (`npm start`).
const localCloud = process.env.CLOUDSEED_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [
    sveltekit({
      // The landing page is prerendered (index.html); every other route is the single-page app,
      // served from 200.html by the local cloud and by CloudFront.
      adapter: adapter({ fallback: '200.html' }),
      prerender: { crawl: false },
    }),
    svelteTesting(),
  ],
  // Bundle kit's own `cookie` into the prerendering server: the workspace root hoists an older major.
  ssr: { noExternal: ['cookie'] },
  server: { proxy: { '/v1': localCloud, '/config.json': localCloud } },
  test: {
    name: 'web',
    include: ['src/**/*.test.ts'],
    environment: 'jsdom',
  },
});

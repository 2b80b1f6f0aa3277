import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The build is committed (web/dist) and embedded in the tome binary, so it must be
// reproducible: no inline scripts (the CSP forbids them), no inlined assets.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/v1': 'http://127.0.0.1:8080' },
  },
  test: {
    include: ['src/**/*.test.ts'],
  },
});

import { cpSync } from 'node:fs';
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'cli/main': 'src/cli/main.ts',
  },
  format: ['esm'],
  target: 'node20',
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  splitting: true,
  // Native and optional drivers stay external: importing the core must never load them.
  external: ['better-sqlite3', 'pg', 'amqplib', '@grpc/grpc-js', '@grpc/proto-loader', 'playwright-core'],
  // The admin panel's page, script and styles are served from files beside the bundle.
  async onSuccess() {
    cpSync('src/admin/assets', 'dist/admin/assets', { recursive: true });
  },
});

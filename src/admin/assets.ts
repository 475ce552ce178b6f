/**
 * The page's files (index.html, app.js, app.css) are plain files in src/admin/assets/, served from
 * memory. The folder is looked up next to this module, so the same code serves them from src/ (tsx)
 * and from dist/ once the build copies the folder to dist/admin/assets/ (tsup.config.ts, onSuccess).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Where the folder can be: beside this file (src/admin/), or under dist/admin/ from a chunk in dist/ or dist/cli/. */
const CANDIDATES = ['./assets/', './admin/assets/', '../admin/assets/'];

export function findAssetsDir(from: string = import.meta.url): string | undefined {
  for (const candidate of CANDIDATES) {
    const dir = fileURLToPath(new URL(candidate, from));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/** Every servable file of the folder, by name. */
export function loadAssets(dir: string | undefined = findAssetsDir()): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!dir) return assets;
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

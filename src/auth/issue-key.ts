/** Creates an API key in a store and answers the whole key, the one time it is ever visible. */
import type { ApiKeyInfo, KeyStore } from '../ports/store.ts';
import { generateApiKey } from './api-keys.ts';

export interface IssuedApiKey {
  /** Show this once; it is not stored anywhere. */
  key: string;
  info: ApiKeyInfo;
}

export async function issueApiKey(store: Pick<KeyStore, 'createApiKey'>, options: { name: string; sources: string[]; at?: Date }): Promise<IssuedApiKey> {
  const generated = generateApiKey();
  const info = await store.createApiKey({ name: options.name, sources: options.sources, prefix: generated.prefix, hash: generated.hash, createdAt: options.at });
  return { key: generated.key, info };
}

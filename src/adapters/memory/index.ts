export { createMemoryStore } from './store.js';
export type { MemoryStore, MemoryStoreOptions } from './store.js';

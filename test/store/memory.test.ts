import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/memory/index.js';
import { runStoreConformance } from './conformance.js';

runStoreConformance('memory', () => createMemoryStore());

describe('memory store', () => {
  it('refuses unknown options by name', () => {
    expect(() => createMemoryStore({ filename: 'x' } as never)).toThrow(expect.objectContaining({ code: 'BLH_ERR_OPTIONS' }));
  });
});

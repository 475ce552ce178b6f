/**
 * The store conformance suite against a live PostgreSQL: every test gets a schema of its own
 * (`t_<random>`), dropped when the test closes its store. Skipped with a printed reason when there is no
 * PostgreSQL, failed instead when BILHETAGEM_REQUIRE_SERVICES=1 (see test/support/services.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe } from 'vitest';
import { createPostgresStore } from '../../src/adapters/postgres/index.js';
import type { Store } from '../../src/ports/store.js';
import { POSTGRES_URL, requireService } from '../support/services.js';
import { runStoreConformance } from './conformance.js';

const postgres = await requireService('postgres');
const pg = postgres.available ? (await import('pg')).default : undefined;
const admin = pg && new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
afterAll(() => admin?.end());

async function freshStore(): Promise<Store> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const store = await createPostgresStore({ connectionString: POSTGRES_URL, schema, pool: { max: 4 } });
  let dropped: Promise<unknown> | undefined;
  return {
    ...store,
    async close() {
      await store.close();
      dropped ??= admin!.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await dropped;
    },
  };
}

describe.skipIf(!postgres.available)('postgres', () => {
  runStoreConformance('postgres', freshStore);
});

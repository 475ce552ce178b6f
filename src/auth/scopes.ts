/**
 * What an API key may do is the list of `sources` stored with it: product names (a record's CloudEvents
 * `source`), plus two reserved entries that no product can be called:
 * - `*` may send and read records of every source;
 * - `@admin` may use the /admin routes (reload the ruleset...).
 */
export const ALL_SOURCES = '*';
export const ADMIN_SCOPE = '@admin';

export function maySource(scopes: readonly string[], source: string): boolean {
  return scopes.includes(source) || scopes.includes(ALL_SOURCES);
}

export function isAdminScope(scopes: readonly string[]): boolean {
  return scopes.includes(ADMIN_SCOPE);
}

/** Table names qualified by the store's schema, so no statement depends on the connection's search_path. */

/** The schema name was checked to be a plain identifier (options.ts); quoting keeps its case. */
export function quote(identifier: string): string {
  return `"${identifier}"`;
}

export function tableNames(schema: string) {
  const s = quote(schema);
  return {
    records: `${s}.records`,
    outbox: `${s}.outbox`,
    attempts: `${s}.attempts`,
    deadLetters: `${s}.dead_letters`,
    rejections: `${s}.rejections`,
    apiKeys: `${s}.api_keys`,
    accounts: `${s}.accounts`,
    audit: `${s}.audit`,
    rulesets: `${s}.rulesets`,
    statCounts: `${s}.stat_counts`,
    statDeltas: `${s}.stat_deltas`,
  } as const;
}

export type Tables = ReturnType<typeof tableNames>;

/** Builds a WHERE clause with numbered parameters from the filters that are set. */
export class Where {
  readonly values: unknown[] = [];
  private readonly parts: string[] = [];

  /** `sql` holds `?` where the value goes. */
  add(sql: string, value: unknown): this {
    this.values.push(value);
    this.parts.push(sql.replace('?', `$${this.values.length}`));
    return this;
  }

  /** The next parameter's placeholder, for values after the WHERE clause (a LIMIT). */
  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  toString(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

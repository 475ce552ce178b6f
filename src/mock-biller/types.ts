import type { IncomingHttpHeaders } from 'node:http';

/** The billing endpoints the mock serves. */
export const Endpoints = ['charges', 'lago', 'openmeter', 'stripe'] as const;
export type EndpointName = (typeof Endpoints)[number];

export interface MockRequest {
  /** Path without the query string and without a `/lago`, `/openmeter`, `/stripe` prefix. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface MockResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface EndpointReport {
  /** Items accepted and stored, in arrival order (empty when `keepItems` is false). */
  items: unknown[];
  /** Distinct keys stored (the target's own dedupe key). */
  distinct: number;
  /** Requests or batch elements recognised as already stored. */
  duplicates: number;
  /** Requests that reached this endpoint, faulted ones included. */
  requests: number;
  /**
   * Requests that arrived while another one for the same customer and meter was still unanswered: what Stripe
   * asks callers never to do. Always 0 at the other endpoints, which ask nothing of the kind.
   */
  overlapping: number;
}

export interface FaultCounts {
  outage: number;
  burst429: number;
  timeout: number;
  failure: number;
  failAfterStore: number;
}

export interface ReceivedReport {
  endpoints: Record<EndpointName, EndpointReport>;
  faults: FaultCounts;
}

/** Keeps what one endpoint accepted, deduplicated by the target's key. */
export class EndpointLog {
  readonly items: unknown[] = [];
  readonly keys = new Map<string, string>();
  duplicates = 0;
  requests = 0;
  overlapping = 0;

  constructor(private readonly keepItems: boolean) {}

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** The id given to `key` when it was stored. */
  idOf(key: string): string | undefined {
    return this.keys.get(key);
  }

  add(key: string, id: string, item: unknown): void {
    this.keys.set(key, id);
    if (this.keepItems) this.items.push(item);
  }

  report(withItems: boolean): EndpointReport {
    return { items: withItems ? [...this.items] : [], distinct: this.keys.size, duplicates: this.duplicates, requests: this.requests, overlapping: this.overlapping };
  }

  clear(): void {
    this.items.length = 0;
    this.keys.clear();
    this.duplicates = 0;
    this.requests = 0;
    this.overlapping = 0;
  }
}

export interface EndpointContext {
  log: EndpointLog;
  /** Epoch ms. */
  now: number;
  /** Expected API key (`Authorization: Bearer <key>`); undefined = no auth. */
  apiKey: string | undefined;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): MockResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function parseJsonBody(body: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

export function bearerOk(headers: IncomingHttpHeaders, apiKey: string | undefined): boolean {
  return apiKey === undefined || headers.authorization === `Bearer ${apiKey}`;
}

export function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

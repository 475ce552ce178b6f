import { Agent, request } from 'undici';
import { createMockBiller } from '../../src/mock-biller/index.js';
import type { MockBiller, MockBillerOptions } from '../../src/mock-biller/index.js';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface Running {
  biller: MockBiller;
  url: string;
  agent: Agent;
  call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers?: Record<string, string>, timeoutMs?: number): Promise<Answer>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Answer>;
  stop(): Promise<void>;
}

/** A mock biller on a free loopback port and an undici agent of its own. */
export async function startBiller(options: MockBillerOptions = {}): Promise<Running> {
  const biller = createMockBiller(options);
  const { url } = await biller.listen(0, '127.0.0.1');
  const agent = new Agent({ keepAliveTimeout: 1000 });
  async function call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<Answer> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const hasType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
    const res = await request(`${url}${path}`, {
      method,
      dispatcher: agent,
      headers: payload !== undefined && !hasType ? { 'content-type': 'application/json', ...headers } : headers,
      body: payload,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, text, json };
  }
  return {
    biller,
    url,
    agent,
    call,
    post: (path, body, headers) => call('POST', path, body, headers),
    async stop() {
      await biller.close();
      await agent.close();
    },
  };
}

export const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

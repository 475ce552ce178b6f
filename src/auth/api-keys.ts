/**
 * API keys: `blh_<prefix>.<secret>`. The prefix finds the key in the store; only a hash of the secret is
 * stored. The secret is 256 random bits, so a fast hash (SHA-256) is enough: a slow, salted hash protects
 * guessable passwords, and nobody guesses 2^256. A slow hash here would cost every request its time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIX = 'blh_';
const HASH_SCHEME = 'sha256:';

export interface GeneratedApiKey {
  /** The whole key, to show once: `prefix.secret`. */
  key: string;
  /** Stored in the clear; names the key in lists and logs. */
  prefix: string;
  /** What the store keeps. */
  hash: string;
}

export function generateApiKey(): GeneratedApiKey {
  // 60 random bits make prefix collisions negligible; the store refuses a taken prefix anyway.
  const prefix = `${KEY_PREFIX}${randomBytes(8).toString('base64url').slice(0, 10)}`;
  const secret = randomBytes(32).toString('base64url');
  return { key: `${prefix}.${secret}`, prefix, hash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return HASH_SCHEME + createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** Splits a presented key; undefined when it cannot be one of ours (so no store lookup is spent on it). */
export function parseApiKey(raw: string): { prefix: string; secret: string } | undefined {
  if (raw.length > 200 || !raw.startsWith(KEY_PREFIX)) return undefined;
  const dot = raw.indexOf('.');
  if (dot <= KEY_PREFIX.length || dot === raw.length - 1) return undefined;
  const prefix = raw.slice(0, dot);
  const secret = raw.slice(dot + 1);
  if (!/^[A-Za-z0-9_-]+$/.test(prefix) || !/^[A-Za-z0-9_-]+$/.test(secret)) return undefined;
  return { prefix, secret };
}

/** Constant-time comparison of the presented secret with the stored hash. */
export function verifySecret(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret));
  const stored = Buffer.from(storedHash);
  // Compare equal-length buffers always, so the time does not tell the length of the stored hash either.
  const same = presented.length === stored.length;
  return timingSafeEqual(presented, same ? stored : presented) && same;
}

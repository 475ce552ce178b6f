/**
 * Roles and what each may do. The server checks every route against this table; the page reads the
 * same list (from GET /admin/api/session) only to hide buttons a role cannot use.
 *
 * - viewer: reads every page except API keys and accounts; may try records in the playground (it changes nothing)
 * - operator: a viewer who also retries and discards dead letters, replays deliveries and activates rulesets
 * - admin: everything, including API keys and accounts
 */
export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = {
  read: ['admin', 'operator', 'viewer'],
  playground: ['admin', 'operator', 'viewer'],
  'dead-letters:write': ['admin', 'operator'],
  replay: ['admin', 'operator'],
  'ruleset:activate': ['admin', 'operator'],
  'keys:read': ['admin'],
  'keys:write': ['admin'],
  'accounts:read': ['admin'],
  'accounts:write': ['admin'],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof PERMISSIONS;

/** What each permission is called in a refusal ("the role viewer may not ..."). */
export const PERMISSION_TEXT: Record<Permission, string> = {
  read: 'read the panel',
  playground: 'use the playground',
  'dead-letters:write': 'retry or discard dead letters',
  replay: 'replay deliveries',
  'ruleset:activate': 'activate or roll back rulesets',
  'keys:read': 'see API keys',
  'keys:write': 'create or revoke API keys',
  'accounts:read': 'see accounts',
  'accounts:write': 'create, change or remove accounts',
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** A role unknown to this release (written by a newer one, or by hand) may do nothing. */
export function may(role: string, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly string[]).includes(role);
}

export function permissionsOf(role: string): Permission[] {
  return (Object.keys(PERMISSIONS) as Permission[]).filter((p) => may(role, p));
}

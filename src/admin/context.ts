/** What every admin route shares: options, sessions, login backoff, the overview, rulesets and the audit log. */
import type { FastifyRequest } from 'fastify';
import { createLockout } from './lockout.ts';
import type { Lockout } from './lockout.ts';
import type { ResolvedAdminOptions } from './options.ts';
import { createOverview } from './overview.ts';
import type { OverviewService } from './overview.ts';
import { createRulesetService } from './rulesets.ts';
import type { RulesetService } from './rulesets.ts';
import { createSessions } from './sessions.ts';
import type { Session, Sessions } from './sessions.ts';
import type { Permission } from './roles.ts';

export type RoutePermission = Permission | 'session';

export interface AdminUser {
  username: string;
  role: string;
  session: Session;
  token: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the admin route needs ("session": any logged-in account); absent on the public ones (login, the page and its assets). */
    adminPermission?: RoutePermission;
  }
  interface FastifyRequest {
    adminUser: AdminUser | null;
  }
}

export interface AdminContext {
  o: ResolvedAdminOptions;
  sessions: Sessions;
  lockout: Lockout;
  overview: OverviewService;
  rulesets: RulesetService;
  now(): Date;
  /** Appends to the audit log: who (the logged-in account), what, on what, before and after. */
  audit(request: FastifyRequest, action: string, target?: string, change?: { before?: unknown; after?: unknown }): Promise<void>;
}

export function createAdminContext(o: ResolvedAdminOptions): AdminContext {
  return {
    o,
    sessions: createSessions({ idleMs: o.sessionIdleMs, maxAgeMs: o.sessionMaxAgeMs, max: 10_000 }),
    lockout: createLockout(o.lockout),
    overview: createOverview(o),
    rulesets: createRulesetService(o),
    now: () => new Date(o.clock()),
    async audit(request, action, target, change = {}) {
      await o.store.appendAudit({
        actor: request.adminUser?.username ?? 'anonymous',
        action,
        ...(target === undefined ? {} : { target }),
        ...('before' in change ? { before: change.before } : {}),
        ...('after' in change ? { after: change.after } : {}),
        at: new Date(o.clock()),
      });
    },
  };
}

/** The username of the request's account; routes with a permission always have one. */
export function user(request: FastifyRequest): AdminUser {
  if (!request.adminUser) throw new Error('admin route without a session guard');
  return request.adminUser;
}

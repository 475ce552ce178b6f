// The admin panel: a Fastify plugin (the page at /admin and its JSON API), and the account operations `bilhetagem users` shares with it.
export { adminPanel } from './plugin.ts';
export { resolveAdminOptions, ADMIN_DEFAULTS, type AdminPanelOptions, type ResolvedAdminOptions, type RulesetAccess, type ForwarderView, type AlertThresholds } from './options.ts';
export { AdminError, AdminErrorCodes, type AdminErrorCode } from './errors.ts';
export { ROLES, PERMISSIONS, may, permissionsOf, isRole, type Role, type Permission } from './roles.ts';
export { createAccount, setRole, resetPassword, removeAccount, changeOwnPassword, checkPassword, checkRole, checkUsername, PASSWORD_MIN_LENGTH } from './accounts.ts';
export { evaluateAlerts, type Alert, type AlertId } from './alerts.ts';
export { findAssetsDir, loadAssets } from './assets.ts';
export { createLogShipper, type LogShipper, type LogShipperOptions, type LogShipperStats } from './log-shipping.ts';

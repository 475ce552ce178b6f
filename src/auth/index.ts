export { generateApiKey, hashSecret, parseApiKey, verifySecret, KEY_PREFIX, type GeneratedApiKey } from './api-keys.ts';
export { hashPassword, verifyPassword, generatePassword } from './passwords.ts';
export { ALL_SOURCES, ADMIN_SCOPE, maySource, isAdminScope } from './scopes.ts';
export { issueApiKey, type IssuedApiKey } from './issue-key.ts';

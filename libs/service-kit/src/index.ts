export * from './secrets.js';
export * from './http-errors.js';
export * from './auth.js';
export * from './atomic-file.js';
export * from './backoff.js';
export * from './http-server.js';
export * from './fetch-json.js';

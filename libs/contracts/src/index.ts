export * from './port-map.js';
export * from './certificate.js';
export * from './settings.js';
export * from './bus.js';
export * from './api.js';
export * from './logs.js';
export * from './gateways.js';
export * from './login-defender.js';

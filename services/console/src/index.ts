export { createConsoleService, type ConsoleService, type ConsoleServiceConfig } from './service.js';
export { consoleSettingsFromEnv, consoleDefaults, type ConsoleSettings } from './config.js';
export { csrfHeader, contentSecurityPolicy } from './app.js';
export { defaultThrottleRules } from './sign-in-throttle.js';

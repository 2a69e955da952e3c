export { createConfigService, buildConfigApp, type ConfigService, type ConfigServiceConfig, type StartedService } from './service.js';
export { derivePortMap, deriveListeners, publicPassiveRange, passiveMapping, listenerIds } from './port-map.js';
export { validateSettings, isLoopbackHost, formatProblem, type SettingsProblem, type SettingsReport } from './validate-settings.js';
export { settingsFromSources, readSettingsFile, loadSettings, settingsEnvBindings, type SettingsResult, type SettingsEnv } from './settings-source.js';

export { Gateway, type GatewayConfig, type GatewayStatus } from './gateway.js';
export { gatewaySettingsFromEnv, type GatewaySettings } from './config.js';
export { readGatewayEnv } from './env.js';
export { ServiceStateSource, StaticStateSource, StateCache, stateSourceFor, type StateSource } from './gateway-state.js';
export { TlsContextHolder, forwardSecretCiphers } from './tls-context.js';
export { planListenerChanges, listenerKey } from './listener-plan.js';

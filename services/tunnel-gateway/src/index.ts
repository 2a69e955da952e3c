export { Gateway, type GatewayConfig, type GatewayStatus } from './gateway.js';
export { gatewayConfigFromEnv } from './config.js';
export { ServiceStateSource, StaticStateSource, StateCache, type StateSource } from './gateway-state.js';
export { TlsContextHolder, forwardSecretCiphers } from './tls-context.js';
export { planListenerChanges, listenerKey } from './listener-plan.js';

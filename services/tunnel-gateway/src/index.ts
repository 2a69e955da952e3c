export { Gateway, type GatewayConfig, type GatewayStatus } from './gateway.js';
export { gatewaySettingsFromEnv, type GatewaySettings } from './config.js';
export { readGatewayEnv } from './env.js';
export { ServiceStateSource, StaticStateSource, StateCache, stateSourceFor, type StateSource } from './gateway-state.js';
export { TlsContextHolder, forwardSecretCiphers } from './tls-context.js';
export { planListenerChanges, listenerKey } from './listener-plan.js';
// The HTTP/1.1 head readings, for the bench's per-head figures.
export { parseRequestHeadByLines, readRequestHead } from './http1/request-head.js';
export { parseResponseHeadByLines, readResponseHead } from './http1/response-head.js';

import { createLogger } from '@st/logging';
import { exitWithProblems, stopOnSignals } from '@st/service-kit';
import { gatewaySettingsFromEnv, replicaIdFromEnv } from './config.js';
import { readGatewayEnv } from './env.js';
import { Gateway } from './gateway.js';
import { stateSourceFor } from './gateway-state.js';

const logger = createLogger({ service: 'tunnel-gateway', replica: replicaIdFromEnv() });

async function main(): Promise<void> {
  const result = gatewaySettingsFromEnv(readGatewayEnv());
  if (!result.ok) exitWithProblems('tunnel-gateway', result.errors);
  const { settings } = result;
  let state;
  try {
    state = stateSourceFor(settings.state);
  } catch (error) {
    exitWithProblems('tunnel-gateway', [(error as Error).message]);
  }
  const { state: _state, ...config } = settings;
  const gateway = new Gateway({ ...config, source: state.source, logger });
  await gateway.start();
  logger.info({ source: state.description, health: gateway.healthUrl }, 'tunnel-gateway started');
  stopOnSignals(gateway, logger);
}

main().catch((error) => {
  logger.fatal({ err: error }, 'tunnel-gateway failed to start');
  process.exit(1);
});

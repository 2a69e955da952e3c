/**
 * `node start-ports-cli.js`: prints the public ports the gateway will need once
 * config-service starts with this environment and data directory (the stored
 * settings, with changed environment variables carried as config-service will
 * carry them), one `what=host:from-to` per line for the port check of
 * scripts/start.sh. Changes nothing. Exit 2 with the problems when the
 * settings are invalid.
 */
import { resolve } from 'node:path';
import { loadSettings } from './settings-source.js';
import { createFileSettingsStore } from './settings-store.js';
import { settingsAtStart } from './start-settings.js';
import { derivePortMap } from './port-map.js';
import { publicPorts } from './render-firewall.js';
import { formatProblem } from './validate-settings.js';

const loaded = await loadSettings(process.env);
if (!loaded.ok) {
  for (const problem of loaded.errors) process.stderr.write(`config-service: invalid setting ${formatProblem(problem)}\n`);
  process.exit(2);
}
const store = createFileSettingsStore(resolve(process.env.CONFIG_DATA_DIR?.trim() || './.data/config-service'));
const versions = await store.list();
const latest = versions.at(-1);
const start = settingsAtStart(latest?.settings, latest ? await store.loadSeed() : null, loaded.settings);
for (const port of publicPorts(derivePortMap(start.settings, latest?.version ?? 1, new Date().toISOString()))) {
  const range = port.ports.from === port.ports.to ? String(port.ports.from) : `${port.ports.from}-${port.ports.to}`;
  const host = port.bindHost.includes(':') ? `[${port.bindHost}]` : port.bindHost;
  process.stdout.write(`gateway ${port.purpose}, listener ${port.listenerId}=${host}:${range}\n`);
}

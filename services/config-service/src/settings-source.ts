import { readFile } from 'node:fs/promises';
import { defaultServerSettings, serverSettingsSchema, type ServerSettings } from '@st/contracts';
import { parseAddressList, parseBoolean, parseInteger, parsePortRange, parseProxyVersion, parseText, parseTlsVersion, type Parsed } from './env-values.js';
import { isJsonObject, type JsonObject } from './json-object.js';
import { validateSettings, type SettingsProblem } from './validate-settings.js';

export type SettingsResult =
  | { ok: true; settings: ServerSettings; warnings: SettingsProblem[] }
  | { ok: false; errors: SettingsProblem[] };

export type SettingsEnv = Record<string, string | undefined>;

interface EnvBinding {
  name: string;
  /** Dotted path of the setting the variable overrides. */
  field: string;
  parse: (raw: string) => Parsed<unknown>;
  /** An empty value means null (e.g. "no explicit pool") instead of "not set". */
  emptyIsNull?: boolean;
}

/** Every environment variable that overrides a setting. */
export const settingsEnvBindings: readonly EnvBinding[] = [
  { name: 'UPSTREAM_HOST', field: 'upstream.host', parse: parseText },
  { name: 'UPSTREAM_WEB_PORT', field: 'upstream.web.port', parse: parseInteger },
  { name: 'UPSTREAM_WEB_ENABLED', field: 'upstream.web.enabled', parse: parseBoolean },
  { name: 'UPSTREAM_FTP_PORT', field: 'upstream.ftp.port', parse: parseInteger },
  { name: 'UPSTREAM_FTP_ENABLED', field: 'upstream.ftp.enabled', parse: parseBoolean },
  { name: 'UPSTREAM_PASSIVE_RANGE', field: 'upstream.ftp.passiveRange', parse: parsePortRange },
  { name: 'PUBLIC_ADDRESS', field: 'public.address', parse: parseText, emptyIsNull: true },
  { name: 'BIND_HOST', field: 'public.bindHost', parse: parseText },
  { name: 'HTTPS_PORT', field: 'public.httpsPort', parse: parseInteger },
  { name: 'FTPS_PORT', field: 'public.ftpsPort', parse: parseInteger },
  { name: 'EXPLICIT_FTPS_PORT', field: 'public.explicitFtpsPort', parse: parseInteger, emptyIsNull: true },
  { name: 'PASSIVE_OFFSET', field: 'public.passiveOffset', parse: parseInteger },
  { name: 'PUBLIC_PASSIVE_RANGE', field: 'public.passiveRange', parse: parsePortRange, emptyIsNull: true },
  { name: 'TLS_MIN_VERSION', field: 'tls.minVersion', parse: parseTlsVersion },
  { name: 'ALLOW_CLEAR_DATA', field: 'tls.allowClearData', parse: parseBoolean },
  { name: 'REQUIRE_SESSION_REUSE', field: 'tls.requireSessionReuse', parse: parseBoolean },
  { name: 'HANDSHAKE_TIMEOUT_MS', field: 'timeouts.handshakeMs', parse: parseInteger },
  { name: 'CONTROL_IDLE_TIMEOUT_MS', field: 'timeouts.controlIdleMs', parse: parseInteger },
  { name: 'DATA_IDLE_TIMEOUT_MS', field: 'timeouts.dataIdleMs', parse: parseInteger },
  { name: 'PASSIVE_LEASE_MS', field: 'timeouts.passiveLeaseMs', parse: parseInteger },
  { name: 'DRAIN_MS', field: 'timeouts.drainMs', parse: parseInteger },
  { name: 'UPSTREAM_KEEPALIVE_MS', field: 'timeouts.upstreamKeepAliveMs', parse: parseInteger },
  { name: 'MAX_COMMAND_LENGTH', field: 'limits.maxCommandLength', parse: parseInteger },
  { name: 'MAX_CONNECTIONS_PER_CLIENT', field: 'limits.maxConnectionsPerClient', parse: parseInteger },
  { name: 'MAX_CONNECTIONS_PER_LISTENER', field: 'limits.maxConnectionsPerListener', parse: parseInteger },
  { name: 'MAX_PASSIVE_LEASES_PER_CLIENT', field: 'limits.maxPassiveLeasesPerClient', parse: parseInteger },
  { name: 'MAX_COMMANDS_WITHOUT_TRANSFER', field: 'limits.maxCommandsWithoutTransfer', parse: parseInteger },
  { name: 'LOGIN_DEFENDER_ENABLED', field: 'loginDefender.enabled', parse: parseBoolean },
  { name: 'LOGIN_MAX_FAILURES', field: 'loginDefender.maxFailures', parse: parseInteger },
  { name: 'LOGIN_FAILURE_WINDOW_MS', field: 'loginDefender.windowMs', parse: parseInteger },
  { name: 'LOGIN_BAN_MS', field: 'loginDefender.banMs', parse: parseInteger },
  { name: 'LOGIN_MAX_BAN_MS', field: 'loginDefender.maxBanMs', parse: parseInteger },
  { name: 'LOGIN_ALLOW_LIST', field: 'loginDefender.allowList', parse: parseAddressList },
  { name: 'TRUSTED_PROXIES', field: 'proxyProtocol.trustedProxies', parse: parseAddressList },
  { name: 'UPSTREAM_WEB_PROXY_PROTOCOL', field: 'proxyProtocol.toUpstream.web', parse: parseProxyVersion },
  { name: 'UPSTREAM_FTP_PROXY_PROTOCOL', field: 'proxyProtocol.toUpstream.ftp', parse: parseProxyVersion },
  { name: 'TUNNEL_ENABLED', field: 'tunnelEnabled', parse: parseBoolean },
];

/**
 * Merges the file over the defaults: objects merge key by key, anything else
 * (including null and ranges over a null default) replaces. A key the defaults
 * do not have is reported, since a misspelt setting would otherwise be ignored.
 */
function mergeOver(base: JsonObject, overlay: JsonObject, path: string[], problems: SettingsProblem[]): JsonObject {
  const merged: JsonObject = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const field = [...path, key].join('.');
    if (!(key in base)) {
      problems.push({ field, message: 'unknown setting in the settings file' });
      continue;
    }
    const current = base[key];
    merged[key] = isJsonObject(current) && isJsonObject(value) ? mergeOver(current, value, [...path, key], problems) : value;
  }
  return merged;
}

function setPath(target: JsonObject, field: string, value: unknown): void {
  const keys = field.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    // The merged object may hold a wrong type here (the file said "ftp": 5); the schema reports that.
    if (!isJsonObject(next)) return;
    node = next;
  }
  node[keys[keys.length - 1]!] = value;
}

/** Says which variable set a field, so that an out-of-range value is reported against what the operator typed. */
function attributeToEnv(problem: SettingsProblem, fromEnv: Map<string, string>): SettingsProblem {
  for (const [field, name] of fromEnv) {
    if (problem.field === field || problem.field.startsWith(`${field}.`)) {
      return { ...problem, message: `${problem.message} (set by ${name})` };
    }
  }
  return problem;
}

/**
 * Settings from the defaults, then the settings file (if any), then the
 * environment. Pure: the caller reads the file and passes its parsed JSON.
 */
export function settingsFromSources(fileJson: unknown | undefined, env: SettingsEnv): SettingsResult {
  const errors: SettingsProblem[] = [];
  const defaults = structuredClone(defaultServerSettings) as unknown as JsonObject;
  let merged = defaults;
  if (fileJson !== undefined) {
    if (isJsonObject(fileJson)) merged = mergeOver(defaults, fileJson, [], errors);
    else errors.push({ field: '(settings file)', message: 'must be a JSON object' });
  }

  const fromEnv = new Map<string, string>();
  for (const binding of settingsEnvBindings) {
    const raw = env[binding.name];
    if (raw === undefined) continue;
    if (raw.trim() === '') {
      if (binding.emptyIsNull) {
        setPath(merged, binding.field, null);
        fromEnv.set(binding.field, binding.name);
      }
      // Otherwise an empty value counts as unset, as compose passes `${VAR:-}` through.
      continue;
    }
    const parsed = binding.parse(raw);
    if (!parsed.ok) {
      errors.push({ field: binding.field, message: `${binding.name}: ${parsed.message}` });
      continue;
    }
    setPath(merged, binding.field, parsed.value);
    fromEnv.set(binding.field, binding.name);
  }
  if (errors.length > 0) return { ok: false, errors };

  const report = validateSettings(merged);
  if (report.errors.length > 0) return { ok: false, errors: report.errors.map((problem) => attributeToEnv(problem, fromEnv)) };
  return {
    ok: true,
    settings: serverSettingsSchema.parse(merged),
    warnings: report.warnings.map((problem) => attributeToEnv(problem, fromEnv)),
  };
}

/** Reads and parses the settings file; every failure becomes a problem naming the file. */
export async function readSettingsFile(path: string): Promise<{ ok: true; json: unknown } | { ok: false; errors: SettingsProblem[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, errors: [{ field: 'SETTINGS_FILE', message: `cannot read ${path}: ${(error as Error).message}` }] };
  }
  try {
    return { ok: true, json: JSON.parse(text) };
  } catch (error) {
    return { ok: false, errors: [{ field: 'SETTINGS_FILE', message: `${path} is not valid JSON: ${(error as Error).message}` }] };
  }
}

/** The I/O around settingsFromSources: the settings file named by SETTINGS_FILE, if any, then the environment. */
export async function loadSettings(env: SettingsEnv): Promise<SettingsResult> {
  const path = env.SETTINGS_FILE?.trim();
  if (!path) return settingsFromSources(undefined, env);
  const file = await readSettingsFile(path);
  if (!file.ok) return file;
  return settingsFromSources(file.json, env);
}

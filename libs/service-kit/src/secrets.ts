import { readFileSync } from 'node:fs';

/**
 * Reads a secret from `NAME` or from the file named by `NAME_FILE` (compose and
 * Kubernetes secrets). Surrounding whitespace of a file is dropped; an empty
 * value counts as unset so that nothing is ever open by accident.
 */
export function readSecret(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct.trim() !== '') return direct.trim();
  const file = env[`${name}_FILE`];
  if (file) {
    const value = readFileSync(file, 'utf8').trim();
    if (value !== '') return value;
  }
  return undefined;
}

export function requireSecret(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = readSecret(name, env);
  if (value === undefined) throw new Error(`${name} (or ${name}_FILE) must be set`);
  return value;
}

/**
 * Reads the bearer tokens a service accepts, each from `NAME` or `NAME_FILE`.
 * At least one must be set: nothing is served without a token. A failure
 * carries a message for the operator (an unreadable file, or none set).
 */
export function readServiceTokens<Name extends string>(
  names: readonly Name[],
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; tokens: Record<Name, string | undefined> } | { ok: false; message: string } {
  const tokens = {} as Record<Name, string | undefined>;
  for (const name of names) {
    try {
      tokens[name] = readSecret(name, env);
    } catch (error) {
      return { ok: false, message: `cannot read a token file: ${(error as Error).message}` };
    }
  }
  if (names.every((name) => tokens[name] === undefined)) {
    return { ok: false, message: `set ${names.join(' or ')} (or their _FILE variants): nothing is served without a token` };
  }
  return { ok: true, tokens };
}

/** The broker a service announces events on: the local one unless AMQP_URL says otherwise; "off" runs without events. */
export function eventsAmqpUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const setting = env.AMQP_URL?.trim() || 'amqp://guest:guest@127.0.0.1:5672';
  return setting === 'off' ? undefined : setting;
}

/** The events exchange from EVENTS_EXCHANGE (deployments or test runs sharing one broker keep apart with it); the contract's by default. */
export function eventsExchangeFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.EVENTS_EXCHANGE?.trim() || undefined;
}

/** Reports start-up problems on stderr, one per line and prefixed with the service, and exits with 2 (a configuration error). */
export function exitWithProblems(service: string, lines: readonly string[]): never {
  for (const line of lines) process.stderr.write(`${service}: ${line}\n`);
  process.exit(2);
}

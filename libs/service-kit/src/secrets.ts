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

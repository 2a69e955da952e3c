import { resolve } from 'node:path';
import type { PortRange } from './vsftpd-config.js';

export interface DemoConfig {
  rootDir: string;
  workDir: string;
  host: string;
  ftpPort: number;
  passiveRange: PortRange;
  httpPort: number;
  user: string;
  maxUploadBytes: number;
  pasvPromiscuous: boolean;
}

/** Kept apart from DemoConfig so that the config can be logged whole. */
export interface DemoSecrets {
  password: string;
}

function port(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} must be a port number (1-65535), got "${text}"`);
  return value;
}

function flag(env: Record<string, string | undefined>, name: string, fallback: boolean): boolean {
  const text = env[name]?.toLowerCase();
  if (text === undefined || text === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw new Error(`${name} must be true or false, got "${text}"`);
}

/** Applies defaults and checks; relative directories are taken from `cwd`. */
export function demoConfigFromEnv(env: Record<string, string | undefined>, cwd: string): { config: DemoConfig; secrets: DemoSecrets } {
  const passiveRange = { from: port(env, 'DEMO_PASSIVE_FROM', 3000), to: port(env, 'DEMO_PASSIVE_TO', 3008) };
  if (passiveRange.from > passiveRange.to) throw new Error(`DEMO_PASSIVE_FROM (${passiveRange.from}) is above DEMO_PASSIVE_TO (${passiveRange.to})`);
  const maxUpload = env.DEMO_MAX_UPLOAD_BYTES ? Number(env.DEMO_MAX_UPLOAD_BYTES) : 1024 ** 3;
  if (!Number.isSafeInteger(maxUpload) || maxUpload < 1) throw new Error(`DEMO_MAX_UPLOAD_BYTES must be a positive integer, got "${env.DEMO_MAX_UPLOAD_BYTES}"`);
  const config: DemoConfig = {
    rootDir: resolve(cwd, env.DEMO_ROOT || './.data/demo-files'),
    workDir: resolve(cwd, env.DEMO_WORK_DIR || './.data/demo-upstream'),
    host: env.DEMO_HOST || '127.0.0.1',
    ftpPort: port(env, 'DEMO_FTP_PORT', 2121),
    passiveRange,
    httpPort: port(env, 'DEMO_HTTP_PORT', 8080),
    user: env.DEMO_USER || 'demo',
    maxUploadBytes: maxUpload,
    pasvPromiscuous: flag(env, 'DEMO_PASV_PROMISCUOUS', true),
  };
  return { config, secrets: { password: env.DEMO_PASSWORD || 'demo-password' } };
}

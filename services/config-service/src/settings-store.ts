import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serverSettingsSchema, settingsVersionSchema, withSettingsAddedLater, type ServerSettings, type SettingsVersion } from '@st/contracts';
import { writeFileAtomic, writeFileExclusive } from '@st/service-kit';

/**
 * Settings versions on disk, one file per version, never rewritten. The
 * latest version is the current settings, so there is no pointer file that
 * could disagree with the history.
 */
export interface SettingsStore {
  /** Every version, oldest first. */
  list(): Promise<SettingsVersion[]>;
  /** Writes a version that must not exist yet (refused, never overwritten, if it does). */
  append(version: SettingsVersion): Promise<void>;
  /** The settings last derived from the settings file and the environment, if recorded. */
  loadSeed(): Promise<ServerSettings | null>;
  saveSeed(settings: ServerSettings): Promise<void>;
}

/** A store that cannot be read as a whole; the service refuses to start rather than serve an older version. */
export class SettingsStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsStoreError';
  }
}

const versionFilePattern = /^(\d{6,})\.json$/;

/** One place builds every path, so the layout is written down once. */
export function settingsStorePaths(dataDir: string) {
  const versions = join(dataDir, 'versions');
  return {
    versions,
    version: (version: number) => join(versions, `${String(version).padStart(6, '0')}.json`),
    seed: join(dataDir, 'seed.json'),
  };
}

export function createFileSettingsStore(dataDir: string): SettingsStore {
  const paths = settingsStorePaths(dataDir);

  async function readJson(path: string): Promise<unknown> {
    const text = await readFile(path, 'utf8');
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new SettingsStoreError(`${path} is not valid JSON (${(error as Error).message})`);
    }
  }

  return {
    async list() {
      let names: string[];
      try {
        names = await readdir(paths.versions);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const numbers = names
        .map((name) => versionFilePattern.exec(name))
        .filter((match): match is RegExpExecArray => match !== null)
        .map((match) => Number(match[1]))
        .sort((a, b) => a - b);
      const versions: SettingsVersion[] = [];
      for (const number of numbers) {
        const path = paths.version(number);
        const raw = await readJson(path);
        const parsed = settingsVersionSchema.safeParse(
          typeof raw === 'object' && raw !== null ? { ...raw, settings: withSettingsAddedLater((raw as { settings?: unknown }).settings) } : raw,
        );
        if (!parsed.success) {
          throw new SettingsStoreError(`${path} is not a settings version: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
        }
        if (parsed.data.version !== number) throw new SettingsStoreError(`${path} holds version ${parsed.data.version}`);
        versions.push(parsed.data);
      }
      return versions;
    },

    async append(version) {
      try {
        await writeFileExclusive(paths.version(version.version), `${JSON.stringify(version, null, 2)}\n`, 0o600);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new SettingsStoreError(`settings version ${version.version} already exists`);
        throw error;
      }
    },

    async loadSeed() {
      try {
        const parsed = serverSettingsSchema.safeParse(withSettingsAddedLater(await readJson(paths.seed)));
        // An unreadable seed record only means the next start cannot tell what changed in the environment.
        return parsed.success ? parsed.data : null;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SettingsStoreError) return null;
        throw error;
      }
    },

    async saveSeed(settings) {
      await writeFileAtomic(paths.seed, `${JSON.stringify(settings, null, 2)}\n`, 0o600);
    },
  };
}

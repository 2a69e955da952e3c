import { serverSettingsSchema, type ServerSettings, type SettingChange } from '@st/contracts';
import { carryFields, changedFields, jsonEqual } from './settings-changes.js';
import { validateSettings, type SettingsProblem } from './validate-settings.js';

/** What config-service does with its settings when it starts. */
export type StartSettings =
  /** An empty history: version 1 is the seed. */
  | { kind: 'first'; settings: ServerSettings }
  /** The stored history wins; no seed field changed since the last start (or the change amounts to nothing). */
  | { kind: 'stored'; settings: ServerSettings; seedChanges: SettingChange[] }
  /** Seed fields changed since the last start: carried onto the current settings as a new version. */
  | { kind: 'carried'; settings: ServerSettings; seedChanges: SettingChange[] }
  /** Seed fields changed, but the result would be invalid: the current settings stay. */
  | { kind: 'invalid'; settings: ServerSettings; seedChanges: SettingChange[]; errors: SettingsProblem[] };

/**
 * Pure: from the latest stored settings, the seed recorded at the last start
 * and today's seed (settings file + environment), the settings in force after
 * the start. Both config-service and the start script's port check use it, so
 * they agree on which ports will be needed.
 */
export function settingsAtStart(latest: ServerSettings | undefined, previousSeed: ServerSettings | null, seed: ServerSettings): StartSettings {
  if (!latest) return { kind: 'first', settings: seed };
  const seedChanges = previousSeed ? changedFields(previousSeed, seed) : [];
  if (seedChanges.length === 0) return { kind: 'stored', settings: latest, seedChanges };
  const candidate = carryFields(latest, seedChanges);
  const report = validateSettings(candidate);
  if (report.errors.length > 0) return { kind: 'invalid', settings: latest, seedChanges, errors: report.errors };
  if (jsonEqual(candidate, latest)) return { kind: 'stored', settings: latest, seedChanges };
  return { kind: 'carried', settings: serverSettingsSchema.parse(candidate), seedChanges };
}

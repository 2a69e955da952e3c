import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  routingKeys,
  serverSettingsSchema,
  type ConfigUpdatedEvent,
  type PortMap,
  type ServerSettings,
  type SettingsSource,
  type SettingsVersion,
} from '@st/contracts';
import type { EventPublisher } from '@st/bus';
import type { Logger } from '@st/logging';
import { ConfigError } from './errors.js';
import { derivePortMap } from './port-map.js';
import { changedFields, describeChange, jsonEqual } from './settings-changes.js';
import { settingsAtStart } from './start-settings.js';
import type { SettingsStore } from './settings-store.js';
import { validateSettings, type SettingsProblem } from './validate-settings.js';

/** Resolves a host name or throws; injectable so tests do not depend on the machine's resolver. */
export type HostResolver = (host: string) => Promise<void>;

export const systemHostResolver: HostResolver = async (host) => {
  await lookup(host);
};

export interface SettingsManagerOptions {
  store: SettingsStore;
  logger: Logger;
  now?: () => Date;
  resolveHost?: HostResolver;
  /** How long a host lookup may take before it counts as unresolvable. */
  resolveTimeoutMs?: number;
}

export interface ChangeRequest {
  source: Exclude<SettingsSource, 'seed'>;
  comment?: string | null;
  /** The version the caller based the change on (If-Match); another current version is a conflict. */
  ifMatch?: number;
  /** Validate and show the result without storing or announcing it. */
  dryRun?: boolean;
  /** For a rollback: the version restored. */
  restoredFrom?: number;
}

export interface ChangeResult {
  /** created: a new version; unchanged: equal to the current settings, nothing stored; dry-run: nothing stored. */
  outcome: 'created' | 'unchanged' | 'dry-run';
  version: SettingsVersion;
  warnings: SettingsProblem[];
  portMap: PortMap;
}

/**
 * Owns the settings history: validates every proposal, appends accepted
 * ones as new versions (one at a time), derives the port map and announces
 * each new version. A rejected proposal changes nothing.
 */
export class SettingsManager {
  private versions: SettingsVersion[] = [];
  private portMap: PortMap | null = null;
  private warnings: SettingsProblem[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private publisher: EventPublisher | null = null;

  constructor(private readonly options: SettingsManagerOptions) {}

  /**
   * Opens the history. An empty store starts at version 1 with the seed
   * (settings file + environment). Otherwise the stored history wins, except
   * for the fields whose seed value changed since the last start: those are
   * carried onto the current settings as a new version, so that editing the
   * compose file still works and API changes to other fields survive.
   */
  async init(seed: ServerSettings): Promise<void> {
    this.versions = await this.options.store.list();
    const latest = this.versions.at(-1);
    const previousSeed = latest ? await this.options.store.loadSeed() : null;
    const start = settingsAtStart(latest?.settings, previousSeed, seed);
    if (start.kind === 'first') {
      await this.append(seed, { source: 'seed', comment: 'initial settings from the settings file and environment' });
      await this.options.store.saveSeed(seed);
      return;
    }
    this.portMap = this.derive(latest!);
    this.warnings = await this.warningsFor(latest!.settings);
    if (start.kind === 'invalid') {
      this.options.logger.error(
        { errors: start.errors, seedChanges: start.seedChanges.map(describeChange) },
        'the settings file or environment changed, but the change is invalid on top of the current settings; keeping the current version',
      );
      return;
    }
    if (start.kind === 'carried') {
      await this.append(start.settings, {
        source: 'seed',
        comment: `settings file or environment changed: ${start.seedChanges.map((change) => change.field).join(', ')}`,
      });
    }
    if (!previousSeed || start.seedChanges.length > 0) await this.options.store.saveSeed(seed);
  }

  attachPublisher(publisher: EventPublisher | null): void {
    this.publisher = publisher;
  }

  current(): SettingsVersion {
    const latest = this.versions.at(-1);
    if (!latest) throw new Error('settings history not opened');
    return latest;
  }

  currentPortMap(): PortMap {
    if (!this.portMap) throw new Error('settings history not opened');
    return this.portMap;
  }

  currentWarnings(): SettingsProblem[] {
    return this.warnings;
  }

  /** Newest first. */
  history(): SettingsVersion[] {
    return [...this.versions].reverse();
  }

  get(version: number): SettingsVersion {
    const found = this.versions.find((entry) => entry.version === version);
    if (!found) throw new ConfigError('UNKNOWN_VERSION', `there is no settings version ${version} (versions 1 to ${this.current().version} exist)`);
    return found;
  }

  /**
   * Proposes a complete settings document, or a function that builds one from
   * the current settings (a patch): it runs in turn, so two patches arriving
   * together both land instead of the second undoing the first. Changes are
   * applied one at a time, in arrival order.
   */
  propose(candidate: unknown | ((current: ServerSettings) => unknown), request: ChangeRequest): Promise<ChangeResult> {
    const run = this.queue.then(() => this.proposeNow(candidate, request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async rollback(version: number, request: Omit<ChangeRequest, 'source' | 'restoredFrom'>): Promise<ChangeResult> {
    const target = this.get(version);
    return this.propose(target.settings, { ...request, source: 'rollback', restoredFrom: target.version, comment: request.comment ?? `roll back to version ${target.version}` });
  }

  /** Says which version is current; gateways that missed an event catch up through it. */
  async announce(): Promise<boolean> {
    const publisher = this.publisher;
    if (!publisher || this.versions.length === 0) return false;
    const event: ConfigUpdatedEvent = { version: this.current().version };
    const sent = await publisher.publish(routingKeys.configUpdated, event);
    if (sent) this.options.logger.info({ version: event.version }, 'announced config.updated');
    // Not sent: announced again when the bus is back (the publisher's onConnected); gateways also refresh periodically.
    else this.options.logger.warn({ version: event.version }, 'config.updated not delivered to the broker yet');
    return sent;
  }

  private async proposeNow(proposal: unknown | ((current: ServerSettings) => unknown), request: ChangeRequest): Promise<ChangeResult> {
    const current = this.current();
    const candidate = typeof proposal === 'function' ? (proposal as (settings: ServerSettings) => unknown)(current.settings) : proposal;
    if (request.ifMatch !== undefined && request.ifMatch !== current.version) {
      throw new ConfigError(
        'VERSION_CONFLICT',
        `the change was based on version ${request.ifMatch}, but version ${current.version} is current; fetch it and apply the change again`,
        { currentVersion: current.version },
      );
    }
    const report = validateSettings(candidate);
    if (report.errors.length > 0) {
      throw new ConfigError('INVALID_SETTINGS', `settings rejected: ${report.errors.map((p) => `${p.field}: ${p.message}`).join('; ')}`, {
        errors: report.errors,
        warnings: report.warnings,
      });
    }
    const settings = serverSettingsSchema.parse(candidate);
    const warnings = [...report.warnings, ...(await this.hostWarnings(settings))];
    if (jsonEqual(settings, current.settings)) {
      return { outcome: 'unchanged', version: current, warnings, portMap: this.currentPortMap() };
    }
    const next = this.buildVersion(settings, request);
    if (request.dryRun) return { outcome: 'dry-run', version: next, warnings, portMap: this.derive(next) };
    await this.commit(next, warnings);
    return { outcome: 'created', version: next, warnings, portMap: this.currentPortMap() };
  }

  private buildVersion(settings: ServerSettings, request: { source: SettingsSource; comment?: string | null; restoredFrom?: number }): SettingsVersion {
    const previous = this.versions.at(-1);
    return {
      version: (previous?.version ?? 0) + 1,
      createdAt: (this.options.now?.() ?? new Date()).toISOString(),
      source: request.source,
      comment: request.comment?.trim() || null,
      restoredFrom: request.restoredFrom ?? null,
      changes: previous ? changedFields(previous.settings, settings) : [],
      settings,
    };
  }

  private async append(settings: ServerSettings, request: { source: SettingsSource; comment: string }): Promise<void> {
    await this.commit(this.buildVersion(settings, request), await this.warningsFor(settings));
  }

  /** Stored first, then current, then announced: a version is never announced that a restart would lose. */
  private async commit(version: SettingsVersion, warnings: SettingsProblem[]): Promise<void> {
    try {
      await this.options.store.append(version);
    } catch (error) {
      // A failure after the file was linked into place (e.g. syncing the directory) still leaves the
      // version on disk, and a restart would make it current: then it is current now, too.
      const stored = await this.options.store.list().catch(() => []);
      if (!jsonEqual(stored.at(-1), version)) throw error;
      this.options.logger.warn({ err: error, version: version.version }, 'settings version stored despite an error while writing it');
    }
    this.versions.push(version);
    this.portMap = this.derive(version);
    this.warnings = warnings;
    this.options.logger.info(
      { version: version.version, source: version.source, comment: version.comment, changes: version.changes.map(describeChange), warnings },
      'settings version stored',
    );
    void this.announce();
  }

  /** The port map's version and time are the settings version's, so every derivation of one version is identical. */
  private derive(version: SettingsVersion): PortMap {
    return derivePortMap(version.settings, version.version, version.createdAt);
  }

  private async warningsFor(settings: ServerSettings): Promise<SettingsProblem[]> {
    return [...validateSettings(settings).warnings, ...(await this.hostWarnings(settings))];
  }

  /** The gateway resolves the upstream host when it connects; a name that does not resolve here will most likely fail there. */
  private async hostWarnings(settings: ServerSettings): Promise<SettingsProblem[]> {
    const { host } = settings.upstream;
    if (isIP(host) !== 0) return [];
    const resolve = this.options.resolveHost ?? systemHostResolver;
    const timeoutMs = this.options.resolveTimeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        resolve(host),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEOUT' })), timeoutMs);
        }),
      ]);
      return [];
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      return [{ field: 'upstream.host', message: `"${host}" does not resolve from config-service (${reason}); the gateway cannot reach the file server until it does` }];
    } finally {
      clearTimeout(timer);
    }
  }
}

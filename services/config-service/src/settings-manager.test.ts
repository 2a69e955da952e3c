import type { ServerSettings, SettingsVersion } from '@st/contracts';
import { capturingLogger } from '@st/test-kit';
import { SettingsManager } from './settings-manager.js';
import type { SettingsStore } from './settings-store.js';
import { settingsWith, unprivileged } from './test-settings.js';

/** A store in memory whose append can be made to fail before or after the version lands. */
function memoryStore(failAppend: 'no' | 'before-writing' | 'after-writing' = 'no'): SettingsStore & { versions: SettingsVersion[]; fail: typeof failAppend } {
  const store = {
    versions: [] as SettingsVersion[],
    fail: failAppend,
    async list() {
      return [...store.versions];
    },
    async append(version: SettingsVersion) {
      if (store.fail === 'before-writing') throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
      store.versions.push(version);
      if (store.fail === 'after-writing') throw Object.assign(new Error('fsync failed'), { code: 'EIO' });
    },
    async loadSeed() {
      return null;
    },
    async saveSeed(_settings: ServerSettings) {},
  };
  return store;
}

const seed = settingsWith(unprivileged);
const resolveHost = async () => undefined;

describe('SettingsManager when the store fails', () => {
  it.each([
    { desc: 'before the version is written: refused, nothing changes', fail: 'before-writing' as const, rejects: true, current: 1 },
    { desc: 'after the version is written: it is current, as it would be after a restart', fail: 'after-writing' as const, rejects: false, current: 2 },
  ])('$desc', async ({ fail, rejects, current }) => {
    const store = memoryStore();
    const manager = new SettingsManager({ store, logger: capturingLogger('manager-test').logger, resolveHost });
    await manager.init(seed);
    store.fail = fail;
    const change = manager.propose((settings) => ({ ...settings, tunnelEnabled: false }), { source: 'patch' });
    if (rejects) await expect(change).rejects.toThrow(/disk full/);
    else await expect(change).resolves.toMatchObject({ outcome: 'created' });
    expect(manager.current().version).toBe(current);
    expect(manager.currentPortMap().version).toBe(current);
    // The manager and the store agree, so the next change gets the next number.
    store.fail = 'no';
    const next = await manager.propose((settings) => ({ ...settings, limits: { ...settings.limits, maxCommandLength: 1024 } }), { source: 'patch' });
    expect(next.version.version).toBe(current + 1);
    expect(store.versions.map((version) => version.version)).toEqual(Array.from({ length: current + 1 }, (_, index) => index + 1));
  });
});

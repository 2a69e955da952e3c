import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultServerSettings } from '@st/contracts';
import { createFileSettingsStore, settingsStorePaths, SettingsStoreError } from './settings-store.js';

/** The defaults as an older config-service stored them: before timeouts.upstreamKeepAliveMs, public.explicitFtpsPort and proxyProtocol.toUpstream existed. */
function olderSettings(timeouts: Record<string, unknown> = {}): unknown {
  const { upstreamKeepAliveMs: _added, ...before } = defaultServerSettings.timeouts;
  const { explicitFtpsPort: _addedToo, ...publicBefore } = defaultServerSettings.public;
  return {
    ...defaultServerSettings,
    public: publicBefore,
    limits: { maxCommandLength: 4096 },
    timeouts: { ...before, ...timeouts },
    proxyProtocol: { trustedProxies: ['10.0.0.0/8'] },
  };
}

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'st-settings-store-'));
  await mkdir(settingsStorePaths(dataDir).versions, { recursive: true });
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const writeVersion = (version: number, settings: unknown) =>
  writeFile(
    settingsStorePaths(dataDir).version(version),
    JSON.stringify({ version, createdAt: '2026-11-01T00:00:00.000Z', source: 'seed', comment: null, restoredFrom: null, changes: [], settings }),
  );

describe('file settings store', () => {
  it('reads versions and a seed stored before upstreamKeepAliveMs and explicitFtpsPort existed with their defaults', async () => {
    await writeVersion(1, olderSettings());
    await writeVersion(2, { ...defaultServerSettings, timeouts: { ...defaultServerSettings.timeouts, upstreamKeepAliveMs: 0 } });
    await writeFile(settingsStorePaths(dataDir).seed, JSON.stringify(olderSettings()));
    const store = createFileSettingsStore(dataDir);
    const versions = await store.list();
    expect(versions.map((version) => version.settings.timeouts.upstreamKeepAliveMs)).toEqual([2000, 0]);
    expect((await store.loadSeed())?.timeouts.upstreamKeepAliveMs).toBe(2000);
    expect(versions[0]?.settings.public.explicitFtpsPort).toBeNull();
    expect(versions[0]?.settings.limits).toEqual(defaultServerSettings.limits);
    expect((await store.loadSeed())?.public.explicitFtpsPort).toBeNull();
    expect(versions[0]?.settings.proxyProtocol).toEqual({ trustedProxies: ['10.0.0.0/8'], toUpstream: { web: 'off', ftp: 'off' } });
  });

  it('still refuses a stored version that is wrong in another way', async () => {
    await writeVersion(1, olderSettings({ handshakeMs: 'soon' }));
    await expect(createFileSettingsStore(dataDir).list()).rejects.toThrow(SettingsStoreError);
    await expect(createFileSettingsStore(dataDir).list()).rejects.toThrow(/timeouts\.handshakeMs/);
  });
});

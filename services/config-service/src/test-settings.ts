import { defaultServerSettings, type ServerSettings } from '@st/contracts';

/** The defaults with a change applied; tests describe each case by what differs from the defaults. */
export function settingsWith(change: (settings: ServerSettings) => void = () => {}): ServerSettings {
  const settings = structuredClone(defaultServerSettings);
  change(settings);
  return settings;
}

/** Unprivileged public ports, as local runs and tests use. */
export function unprivileged(settings: ServerSettings): void {
  settings.public.httpsPort = 8443;
  settings.public.ftpsPort = 9990;
}

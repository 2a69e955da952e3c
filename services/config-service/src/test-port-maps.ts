import type { PortMap, ServerSettings } from '@st/contracts';
import { derivePortMap } from './port-map.js';
import { settingsWith } from './test-settings.js';
import { validateSettings } from './validate-settings.js';

export const renderGeneratedAt = '2025-01-01T00:00:00.000Z';

/**
 * The port map the renderer tests start from: the defaults with a change,
 * refused when the settings are invalid so that no test renders a map the
 * service would never publish.
 */
export function portMapWith(change: (settings: ServerSettings) => void = () => {}, version = 7): PortMap {
  const settings = settingsWith(change);
  const { errors } = validateSettings(settings);
  if (errors.length > 0) throw new Error(`test settings are invalid: ${JSON.stringify(errors)}`);
  return derivePortMap(settings, version, renderGeneratedAt);
}

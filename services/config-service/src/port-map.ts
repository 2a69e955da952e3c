import type { Listener, PassiveMapping, PortMap, PortRange, ServerSettings } from '@st/contracts';

/** Listener ids in a port map; stable so that a gateway can match listeners across versions. */
export const listenerIds = {
  https: 'https',
  ftpsControl: 'ftps-control',
  ftpsExplicit: 'ftps-explicit',
  ftpsData: 'ftps-data',
} as const;

export function singlePort(port: number): PortRange {
  return { from: port, to: port };
}

/**
 * The public passive range: the explicit pool when one is set, otherwise the
 * upstream range shifted by the offset. May fall outside 1..65535 when the
 * offset is too large; validateSettings reports that before anything derives a map.
 */
export function publicPassiveRange(settings: ServerSettings): PortRange {
  if (settings.public.passiveRange) return { ...settings.public.passiveRange };
  const upstream = settings.upstream.ftp.passiveRange;
  return { from: upstream.from + settings.public.passiveOffset, to: upstream.to + settings.public.passiveOffset };
}

export function passiveMapping(settings: ServerSettings): PassiveMapping {
  return settings.public.passiveRange ? { mode: 'pool' } : { mode: 'offset', offset: settings.public.passiveOffset };
}

/** Every listener the gateway must open for these settings, in a stable order. Expects valid settings. */
export function deriveListeners(settings: ServerSettings): Listener[] {
  const { upstream, public: pub } = settings;
  const listeners: Listener[] = [];
  if (upstream.web.enabled) {
    listeners.push({
      id: listenerIds.https,
      protocol: 'http',
      tlsMode: 'implicit',
      bindHost: pub.bindHost,
      ports: singlePort(pub.httpsPort),
      upstream: { host: upstream.host, ports: singlePort(upstream.web.port) },
    });
  }
  if (upstream.ftp.enabled) {
    listeners.push({
      id: listenerIds.ftpsControl,
      protocol: 'ftp-control',
      tlsMode: 'implicit',
      bindHost: pub.bindHost,
      ports: singlePort(pub.ftpsPort),
      upstream: { host: upstream.host, ports: singlePort(upstream.ftp.port) },
    });
    if (pub.explicitFtpsPort !== null) {
      listeners.push({
        id: listenerIds.ftpsExplicit,
        protocol: 'ftp-control',
        tlsMode: 'explicit',
        bindHost: pub.bindHost,
        ports: singlePort(pub.explicitFtpsPort),
        upstream: { host: upstream.host, ports: singlePort(upstream.ftp.port) },
      });
    }
    listeners.push({
      id: listenerIds.ftpsData,
      protocol: 'ftp-data',
      tlsMode: 'implicit',
      bindHost: pub.bindHost,
      ports: publicPassiveRange(settings),
      upstream: { host: upstream.host, ports: { ...upstream.ftp.passiveRange } },
    });
  }
  return listeners;
}

/** The complete, self-contained port map a gateway reconciles its listeners against. */
export function derivePortMap(settings: ServerSettings, version: number, generatedAt: string): PortMap {
  return {
    version,
    generatedAt,
    tunnelEnabled: settings.tunnelEnabled,
    publicAddress: settings.public.address,
    passive: passiveMapping(settings),
    tls: { ...settings.tls },
    timeouts: { ...settings.timeouts },
    limits: { ...settings.limits },
    loginDefender: { ...settings.loginDefender, allowList: [...settings.loginDefender.allowList] },
    proxyProtocol: { trustedProxies: [...settings.proxyProtocol.trustedProxies], toUpstream: { ...settings.proxyProtocol.toUpstream } },
    listeners: deriveListeners(settings),
  };
}

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  apiPath,
  certApi,
  certificateBundleSchema,
  configApi,
  portMapSchema,
  type CertificateBundle,
  type PortMap,
} from '@st/contracts';
import { FetchError, fetchJson, writeFileAtomic } from '@st/service-kit';
import type { GatewayStateSettings } from './config.js';

export interface GatewayState {
  portMap: PortMap;
  bundle: CertificateBundle;
}

/** Where the gateway gets its port map and certificate. */
export interface StateSource {
  fetchPortMap(): Promise<PortMap>;
  fetchBundle(): Promise<CertificateBundle>;
  /** The answer to an ACME HTTP-01 challenge while cert-service's order waits for it; null: no such pending token. */
  fetchHttpChallenge?(token: string): Promise<string | null>;
  /** The certificate for an ACME TLS-ALPN-01 validation of a name while cert-service's order waits for it; null: none pending. */
  fetchAlpnChallenge?(serverName: string): Promise<{ certificatePem: string; privateKeyPem: string } | null>;
}

const httpChallengeSchema = z.object({ keyAuthorization: z.string().min(1).max(512) });
const alpnChallengeSchema = z.object({ certificatePem: z.string().min(1).max(16_384), privateKeyPem: z.string().min(1).max(16_384) });

/** A 404 from cert-service: nothing pending (null); any other failure is thrown. */
async function pendingOrNull<T>(fetching: Promise<T>): Promise<T | null> {
  try {
    return await fetching;
  } catch (error) {
    if (error instanceof FetchError && error.status === 404) return null;
    throw error;
  }
}

/** The owning services over authenticated HTTP (the normal deployment). */
export class ServiceStateSource implements StateSource {
  constructor(
    private readonly configServiceUrl: string,
    private readonly certServiceUrl: string,
    private readonly token: string,
  ) {}

  fetchPortMap(): Promise<PortMap> {
    return fetchJson(`${this.configServiceUrl}${configApi.portMap}`, this.token, portMapSchema);
  }

  fetchBundle(): Promise<CertificateBundle> {
    return fetchJson(`${this.certServiceUrl}${certApi.activeBundle}`, this.token, certificateBundleSchema);
  }

  async fetchHttpChallenge(token: string): Promise<string | null> {
    const answer = await pendingOrNull(fetchJson(`${this.certServiceUrl}${apiPath(certApi.acmeHttpChallenge, { token })}`, this.token, httpChallengeSchema, 3000));
    return answer?.keyAuthorization ?? null;
  }

  fetchAlpnChallenge(serverName: string): Promise<{ certificatePem: string; privateKeyPem: string } | null> {
    return pendingOrNull(fetchJson(`${this.certServiceUrl}${apiPath(certApi.acmeAlpnChallenge, { name: serverName })}`, this.token, alpnChallengeSchema, 3000));
  }
}

/** A fixed port map and certificate, for running the gateway alone (benchmarks, tests, a single-box setup). */
export class StaticStateSource implements StateSource {
  constructor(private readonly state: GatewayState) {}

  async fetchPortMap(): Promise<PortMap> {
    return this.state.portMap;
  }

  async fetchBundle(): Promise<CertificateBundle> {
    return this.state.bundle;
  }
}

/**
 * The last good port map and bundle on disk, so a gateway restarted while
 * config-service or cert-service is down serves with what it had. The bundle
 * holds the private key: the file is written 0600 and atomically.
 */
export class StateCache {
  constructor(private readonly dir: string) {}

  private path(name: 'portmap' | 'bundle'): string {
    return join(this.dir, `${name}.json`);
  }

  async savePortMap(portMap: PortMap): Promise<void> {
    await writeFileAtomic(this.path('portmap'), JSON.stringify(portMap, null, 2), 0o600);
  }

  async saveBundle(bundle: CertificateBundle): Promise<void> {
    await writeFileAtomic(this.path('bundle'), JSON.stringify(bundle), 0o600);
  }

  /** A missing or corrupt cache file counts as no cache. */
  async load(): Promise<{ portMap: PortMap | null; bundle: CertificateBundle | null; problems: string[] }> {
    const problems: string[] = [];
    const read = async <T>(name: 'portmap' | 'bundle', parse: (value: unknown) => T): Promise<T | null> => {
      let text: string;
      try {
        text = await readFile(this.path(name), 'utf8');
      } catch {
        return null;
      }
      try {
        return parse(JSON.parse(text));
      } catch (error) {
        problems.push(`cached ${name} unusable: ${(error as Error).message}`);
        return null;
      }
    };
    return {
      portMap: await read('portmap', (value) => portMapSchema.parse(value)),
      bundle: await read('bundle', (value) => certificateBundleSchema.parse(value)),
      problems,
    };
  }
}

/**
 * The state source the settings name. Reading the standalone files is the
 * I/O of this step: an unreadable or invalid file stops the start with a
 * message naming it.
 */
export function stateSourceFor(state: GatewayStateSettings): { source: StateSource; description: string } {
  if (state.kind === 'services') {
    return {
      source: new ServiceStateSource(state.configServiceUrl, state.certServiceUrl, state.token),
      description: `config-service ${state.configServiceUrl}, cert-service ${state.certServiceUrl}`,
    };
  }
  const read = (file: string, what: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`${what} ${file} cannot be read: ${(error as Error).message}`);
    }
  };
  let portMap: PortMap;
  try {
    portMap = portMapSchema.parse(JSON.parse(read(state.portMapFile, 'GATEWAY_PORT_MAP_FILE')));
  } catch (error) {
    throw new Error(`GATEWAY_PORT_MAP_FILE ${state.portMapFile} is not a valid port map: ${(error as Error).message}`);
  }
  const bundle = certificateBundleSchema.parse({
    id: 'static',
    fingerprintSha256: 'static',
    subject: '',
    notBefore: '',
    notAfter: '',
    certificatePem: read(state.certFile, 'GATEWAY_CERT_FILE'),
    privateKeyPem: read(state.keyFile, 'GATEWAY_KEY_FILE'),
  });
  return { source: new StaticStateSource({ portMap, bundle }), description: `files ${state.portMapFile}, ${state.certFile}` };
}

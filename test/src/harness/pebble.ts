import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { freePort } from '@st/test-kit';
import { startForeground } from './foreground.js';

/**
 * Debian's pebble (an RFC 8555 test CA) and pebble-challtestsrv as its DNS,
 * which answers every name with 127.0.0.1: the CA validates challenges on
 * loopback, at `httpPort` (HTTP-01) and `tlsPort` (TLS-ALPN-01).
 */
export interface Pebble {
  directoryUrl: string;
  /** Pebble's own HTTPS certificate: the trust for its directory (ACME_CA_FILE). */
  caFile: string;
  /** The root that signs what Pebble issues (it changes with every start). */
  rootPem(): Promise<string>;
  /** From now on the CA resolves `name` to `address` (instead of 127.0.0.1). */
  pointName(name: string, address: string): Promise<void>;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  dir: string;
  httpPort: number;
  tlsPort: number;
  /** Lifetime of issued certificates in seconds (Pebble's default is 5 years). */
  validitySeconds?: number;
  /** Share of requests refused with badNonce, in percent (Pebble's default 5; 0 in tests of other things). */
  nonceRejectPercent?: number;
  /** Share of orders that reuse a valid authorization of an earlier one, in percent (0 by default; Pebble's own default is 50). */
  authzReusePercent?: number;
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  await mkdir(options.dir, { recursive: true });
  const certFile = join(options.dir, 'pebble-cert.pem');
  const keyFile = join(options.dir, 'pebble-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=pebble', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const [listenPort, managementPort, dnsPort, challtestManagementPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const configFile = join(options.dir, 'pebble-config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listenPort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: certFile,
        privateKey: keyFile,
        httpPort: options.httpPort,
        tlsPort: options.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(options.validitySeconds ? { certificateValidityPeriod: options.validitySeconds } : {}),
      },
    }),
  );
  // DNS only: every A query is 127.0.0.1, no AAAA (the gateways listen on IPv4 loopback).
  const dns = await startForeground(
    'pebble-challtestsrv',
    'pebble-challtestsrv',
    ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${challtestManagementPort}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''],
    { host: '127.0.0.1', port: challtestManagementPort },
  );
  let ca;
  try {
    ca = await startForeground('pebble', 'pebble', ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`], { host: '127.0.0.1', port: listenPort }, {
      ...process.env,
      PEBBLE_VA_NOSLEEP: '1',
      // Every order validates anew (by default Pebble reuses half of the valid authorizations).
      // (Pebble still reuses about 1 % at 0: its check is "random 0..99 > percent".)
      PEBBLE_AUTHZREUSE: String(options.authzReusePercent ?? 0),
      PEBBLE_WFE_NONCEREJECT: String(options.nonceRejectPercent ?? 0),
    });
  } catch (error) {
    await dns.stop();
    throw error;
  }
  const caPem = await readFile(certFile, 'utf8');
  return {
    directoryUrl: `https://127.0.0.1:${listenPort}/dir`,
    caFile: certFile,
    rootPem: () =>
      new Promise((resolve, reject) => {
        const req = request(`https://127.0.0.1:${managementPort}/roots/0`, { agent: new Agent({ ca: caPem }) }, (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`pebble /roots/0 answered ${response.statusCode}`))));
        });
        req.on('error', reject);
        req.end();
      }),
    pointName: async (name, address) => {
      const response = await fetch(`http://127.0.0.1:${challtestManagementPort}/add-a`, { method: 'POST', body: JSON.stringify({ host: `${name}.`, addresses: [address] }) });
      if (!response.ok) throw new Error(`pebble-challtestsrv /add-a answered ${response.status}`);
    },
    stop: async () => {
      await ca.stop();
      await dns.stop();
    },
  };
}

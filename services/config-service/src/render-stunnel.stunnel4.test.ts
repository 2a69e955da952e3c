import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { ServerSettings } from '@st/contracts';
import { renderStunnelConfig } from './render-stunnel.js';
import { portMapWith } from './test-port-maps.js';
import { canConnect, commandPath, freePortRange } from './test-tools.js';

/**
 * The rendered configuration, unmodified, started with Debian's stunnel4:
 * it must listen on every rendered port and relay TLS to the right plain
 * upstream port. scripts/bootstrap.sh installs stunnel4; without it this fails.
 */

jest.setTimeout(30_000);

let dir: string;
let certFile: string;
let keyFile: string;
const upstreams: net.Server[] = [];
const running: ChildProcess[] = [];

beforeAll(() => {
  if (!commandPath('stunnel4')) throw new Error('stunnel4 is not installed: run scripts/bootstrap.sh (it installs Debian’s stunnel4)');
  dir = mkdtempSync(join(tmpdir(), 'render-stunnel-'));
  certFile = join(dir, 'stunnel.cert');
  keyFile = join(dir, 'stunnel.cert.key');
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost'],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
});

afterEach(async () => {
  await Promise.all(running.splice(0).map(stop));
  await Promise.all(upstreams.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A plain upstream that answers every chunk with its own name, so a test sees which port it reached. */
async function taggedUpstream(host: string, port: number, tag: string): Promise<void> {
  const server = net.createServer((socket) => socket.on('data', (chunk) => socket.write(`${tag}:${chunk.toString()}`)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, resolve);
  });
  upstreams.push(server);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

interface StartedStunnel {
  child: ChildProcess;
  output: () => string;
}

/** Writes the rendered text as is and starts stunnel4 on it, in the foreground. */
function startStunnel(configText: string, name: string): StartedStunnel {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, configText, { mode: 0o600 });
  const child = spawn('stunnel4', [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  running.push(child);
  return { child, output: () => output };
}

async function waitForListening(started: StartedStunnel, host: string, ports: number[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (started.child.exitCode !== null) throw new Error(`stunnel4 exited with ${started.child.exitCode}:\n${started.output()}`);
    const open = await Promise.all(ports.map((port) => canConnect(host, port)));
    if (open.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`stunnel4 did not listen on ${ports.filter((_, i) => !open[i]).join(', ')}:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One TLS round trip through stunnel: what came back, and the negotiated protocol. */
function roundTrip(host: string, port: number, message: string, maxVersion?: tls.SecureVersion): Promise<{ reply: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, servername: 'localhost', ...(maxVersion ? { maxVersion } : {}) });
    socket.setTimeout(5000, () => socket.destroy(new Error(`no reply from ${host}:${port}`)));
    socket.once('secureConnect', () => socket.write(message));
    socket.once('data', (chunk) => {
      const protocol = socket.getProtocol();
      socket.end();
      resolve({ reply: chunk.toString(), protocol });
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed by ${host}:${port} before a reply`)));
  });
}

interface Ports {
  web: number;
  ftp: number;
  passive: number;
  https: number;
  ftps: number;
  publicPassive: number;
}

const passiveCount = 3;

async function allocate(host: string): Promise<Ports> {
  return {
    web: await freePortRange(host, 1),
    ftp: await freePortRange(host, 1),
    passive: await freePortRange(host, passiveCount),
    https: await freePortRange(host, 1),
    ftps: await freePortRange(host, 1),
    publicPassive: await freePortRange(host, passiveCount),
  };
}

function onLoopback(host: string, ports: Ports, change: (s: ServerSettings) => void = () => {}) {
  return (s: ServerSettings) => {
    s.upstream.host = host;
    s.upstream.web.port = ports.web;
    s.upstream.ftp.port = ports.ftp;
    s.upstream.ftp.passiveRange = { from: ports.passive, to: ports.passive + passiveCount - 1 };
    s.public.bindHost = host;
    s.public.httpsPort = ports.https;
    s.public.ftpsPort = ports.ftps;
    s.public.passiveOffset = ports.publicPassive - ports.passive;
    change(s);
  };
}

describe('rendered stunnel configuration with Debian stunnel4', () => {
  it.each<{ desc: string; host: string; change?: (s: ServerSettings) => void; tls13Only: boolean }>([
    { desc: 'offset mode on 127.0.0.1: HTTPS, FTPS control and every passive data port relay to their upstream', host: '127.0.0.1', tls13Only: false },
    { desc: 'IPv6 bind on ::1, written without brackets', host: '::1', tls13Only: false },
    { desc: 'minimum TLS 1.3: a TLS 1.2 client is refused', host: '127.0.0.1', change: (s) => void (s.tls.minVersion = 'TLSv1.3'), tls13Only: true },
  ])('$desc', async ({ host, change, tls13Only }) => {
    const ports = await allocate(host);
    const portMap = portMapWith(onLoopback(host, ports, change));
    const routes = [
      { publicPort: ports.https, upstreamPort: ports.web, tag: 'web' },
      { publicPort: ports.ftps, upstreamPort: ports.ftp, tag: 'ftp' },
      ...Array.from({ length: passiveCount }, (_, i) => ({ publicPort: ports.publicPassive + i, upstreamPort: ports.passive + i, tag: `data${i}` })),
    ];
    for (const route of routes) await taggedUpstream(host, route.upstreamPort, route.tag);

    const { text } = renderStunnelConfig(portMap, { certFile, keyFile, foreground: true, pidFile: '', syslog: false });
    const started = startStunnel(text, 'relay');
    await waitForListening(started, host, routes.map((r) => r.publicPort));

    for (const route of routes) {
      const { reply, protocol } = await roundTrip(host, route.publicPort, 'ping');
      expect({ port: route.publicPort, reply }).toEqual({ port: route.publicPort, reply: `${route.tag}:ping` });
      expect(protocol).toBe('TLSv1.3');
    }
    if (tls13Only) {
      await expect(roundTrip(host, ports.https, 'ping', 'TLSv1.2')).rejects.toThrow();
    } else {
      await expect(roundTrip(host, ports.https, 'ping', 'TLSv1.2')).resolves.toEqual({ reply: 'web:ping', protocol: 'TLSv1.2' });
    }
  });

  it('a disabled tunnel: stunnel4 opens no port and refuses to start', async () => {
    const host = '127.0.0.1';
    const ports = await allocate(host);
    const portMap = portMapWith(onLoopback(host, ports, (s) => void (s.tunnelEnabled = false)));
    const started = startStunnel(renderStunnelConfig(portMap, { certFile, keyFile, foreground: true, pidFile: '', syslog: false }).text, 'disabled');
    const code = await new Promise<number | null>((resolve) => started.child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(started.output()).toMatch(/Inetd mode must define one endpoint/);
    expect(await canConnect(host, ports.https)).toBe(false);
  });
});

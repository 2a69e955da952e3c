/**
 * What strangers may send, each with its defined outcome, and the gateway and
 * the services still serving everyone else afterwards: random bytes and plain
 * text on every TLS port, a command dribbled one byte at a time, and bad API
 * bodies and certificates that change nothing. (Other hostile cases have their
 * own tests: slow and oversized HTTP heads and smuggling in https-relay, limits
 * and PASV floods in connection-limits, data-port theft and aborted clients in
 * ftps-robustness, handshakes that never finish and leases that expire in
 * ftps-policy, garbled PROXY headers in proxy-protocol.)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { apiPath, certApi } from '@st/contracts';
import { connectBasicFtp, curl } from './harness/clients.js';
import { ftpPassword, ftpUser, startStack, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ explicitFtps: true });
});
afterAll(async () => {
  await stack?.stop();
});

/** Deterministic "random" bytes (SHA-256 in counter mode), so a failure can be replayed. */
function noise(size: number, seed: string): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * 32 < size; counter++) blocks.push(createHash('sha256').update(`${seed}:${counter}`).digest());
  return Buffer.concat(blocks).subarray(0, size);
}

/** Sends `bytes` on a plain TCP connection and collects what comes back until the gateway closes (or 3 s pass). */
function sendRaw(port: number, bytes: Buffer): Promise<{ received: string; closedByGateway: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received, closedByGateway: false });
    }, 3000);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received, closedByGateway: true });
    });
    socket.write(bytes);
  });
}

async function everyoneElseIsServed(): Promise<void> {
  const client = await connectBasicFtp(stack);
  try {
    expect((await client.list()).length).toBeGreaterThanOrEqual(0);
  } finally {
    client.close();
  }
  const https = await curl(stack, ['-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${stack.ports.https}/`]);
  expect(https.stdout).toBe('200');
  expect(stack.gateway.status().ready).toBe(true);
}

describe('bytes that are not TLS on the TLS ports', () => {
  const payloads = [
    { name: '4 KiB of random bytes', bytes: () => noise(4096, 'tls-ports') },
    { name: 'a plain HTTP request', bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n') },
    { name: 'a TLS record header announcing 16 MiB', bytes: () => Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0xff, 0xff, 0xff]) },
  ];
  it.each(payloads)('$name: the HTTPS and implicit FTPS ports close the connection without answering in clear text', async ({ bytes }) => {
    for (const port of [stack.ports.https, stack.ports.ftps]) {
      const result = await sendRaw(port, bytes());
      expect(result.closedByGateway).toBe(true);
      // A TLS alert at most: never an FTP greeting or an HTTP response.
      expect(result.received).not.toMatch(/^(220|HTTP\/)/);
    }
    await everyoneElseIsServed();
  });

  it.each(payloads)('$name: a passive data port with no lease for the address closes at once, sending nothing', async ({ bytes }) => {
    expect(await sendRaw(stack.ports.passiveFrom, bytes())).toEqual({ received: '', closedByGateway: true });
    await everyoneElseIsServed();
  });

  it('random bytes on the explicit FTPS port before AUTH TLS: only refusals come back, nothing reaches a login', async () => {
    const result = await sendRaw(stack.ports.explicitFtps!, Buffer.concat([noise(8192, 'explicit'), Buffer.from('\r\nUSER x\r\n')]));
    const replies = result.received.split('\r\n').filter(Boolean);
    expect(replies[0]).toMatch(/^220/);
    for (const reply of replies.slice(1)) expect(reply).toMatch(/^5\d\d /);
    expect(result.received).toMatch(/530 USER refused: log in over TLS/);
    await everyoneElseIsServed();
  });
});

it('a command dribbled one byte at a time is read as if it came at once', async () => {
  const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.ftps, ca: stack.caPem });
  socket.setNoDelay(true);
  let buffered = '';
  const replies: string[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let end: number;
    while ((end = buffered.indexOf('\r\n')) !== -1) {
      replies.push(buffered.slice(0, end));
      buffered = buffered.slice(end + 2);
    }
  });
  const nextReply = async (count: number) => {
    const deadline = Date.now() + 10_000;
    while (replies.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return replies[count - 1];
  };
  const dribble = async (line: string) => {
    for (const byte of Buffer.from(`${line}\r\n`)) {
      socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
  };
  try {
    expect(await nextReply(1)).toMatch(/^220/);
    await dribble(`USER ${ftpUser}`);
    expect(await nextReply(2)).toMatch(/^331/);
    await dribble(`PASS ${ftpPassword}`);
    expect(await nextReply(3)).toMatch(/^230/);
    await dribble('PWD');
    expect(await nextReply(4)).toMatch(/^257 /);
  } finally {
    socket.destroy();
  }
});

describe('bad API bodies change nothing and the services go on', () => {
  const call = async (base: string, method: string, path: string, body: string, contentType = 'application/json') => {
    const response = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': contentType }, body });
    return { status: response.status, json: (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null };
  };

  it('config-service: malformed, oversized, mistyped and unknown fields are refused with the field and the reason', async () => {
    const before = ((await (await fetch(`${stack.configServiceUrl}/settings`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).json()) as { version: number }).version;
    const cases = [
      { body: '{"public":', status: 400, words: /JSON/ },
      { body: JSON.stringify({ public: { ftpsPort: 'x'.repeat(100 * 1024) } }), status: 413, words: /too large|limit/i },
      { body: JSON.stringify({ public: { ftpsPort: '990' } }), status: 422, words: /public\.ftpsPort: must be a number/ },
      { body: JSON.stringify({ public: { ftpsPortt: 990 } }), status: 422, words: /public\.ftpsPortt: .*not a setting/ },
      { body: JSON.stringify({ loginDefender: { allowList: ['not-an-address'] } }), status: 422, words: /loginDefender\.allowList\.0: "not-an-address" is not an IP address/ },
      { body: '[1,2,3]', status: 400, words: /JSON object/ },
    ];
    for (const { body, status, words } of cases) {
      const answer = await call(stack.configServiceUrl, 'PATCH', '/settings', body, 'application/merge-patch+json');
      expect({ status: answer.status, message: answer.json?.error?.message }).toEqual({ status, message: expect.stringMatching(words) });
    }
    const after = ((await (await fetch(`${stack.configServiceUrl}/settings`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).json()) as { version: number }).version;
    expect(after).toBe(before);
  });

  it('cert-service: garbage, enormous and unservable "certificates" are refused in plain words; nothing is stored', async () => {
    const list = async () => ((await (await fetch(`${stack.certServiceUrl}${certApi.certificates}`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).json()) as { certificates: unknown[] }).certificates.length;
    const stored = await list();
    const dir = mkdtempSync(join(tmpdir(), 'st-hostile-cert-'));
    let ed25519: { certificate: string; key: string };
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-days', '30', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
      ed25519 = { certificate: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const cases = [
      { body: JSON.stringify({ certificate: noise(2048, 'cert').toString('base64') }), status: 422, code: 'VALIDATION_FAILED', words: /not stored/ },
      { body: JSON.stringify({ certificate: '-----BEGIN CERTIFICATE-----\n' + 'A'.repeat(300 * 1024) + '\n-----END CERTIFICATE-----\n' }), status: 400, code: 'INVALID_REQUEST', words: /certificate/ },
      { body: JSON.stringify({ certificate: 'x'.repeat(3 * 1024 * 1024) }), status: 413, code: undefined, words: /large|limit/i },
      { body: JSON.stringify(ed25519), status: 422, code: 'VALIDATION_FAILED', words: /ED25519: browsers and most FTP clients do not accept EdDSA server certificates/ },
      { body: JSON.stringify({ certificate: 5 }), status: 400, code: 'INVALID_REQUEST', words: /certificate/ },
      { body: '{"certificate":', status: 400, code: undefined, words: /JSON/ },
    ];
    for (const { body, status, code, words } of cases) {
      const answer = await call(stack.certServiceUrl, 'POST', certApi.certificates, body);
      expect(answer.status).toBe(status);
      if (code) expect(answer.json?.error?.code).toBe(code);
      expect(answer.json?.error?.message).toMatch(words);
      // Never a stack trace or a library's internals.
      expect(answer.json?.error?.message ?? '').not.toMatch(/at .*\.js:\d+|node_modules|ERR_/);
    }
    expect(await list()).toBe(stored);
    const active = await fetch(`${stack.certServiceUrl}${apiPath(certApi.certificate, { id: 'active' })}`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(active.status).toBe(200);
    await everyoneElseIsServed();
  });
});

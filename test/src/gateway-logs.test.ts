import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { Readable } from 'node:stream';
import { logApi } from '@st/contracts';
import { createLogService, type LogService } from '@st/log-service';
import { Client } from 'basic-ftp';
import { connectBasicFtp } from './harness/clients.js';
import { testAmqpUrl } from './harness/infrastructure.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

const operatorToken = 'test-operator-token-0123456789';
const topology = { exchange: `st.logs.test.${randomBytes(4).toString('hex')}`, queue: `st.logs.test.${randomBytes(4).toString('hex')}` };
let stack: Stack;
let logService: LogService;
let logUrl: string;

beforeAll(async () => {
  stack = await startStack({ shipLogs: topology });
  logService = createLogService({
    host: '127.0.0.1',
    port: 0,
    dbPath: join(stack.dir, 'logs.db'),
    operatorToken,
    logger: stack.logger.child({ service: 'log-service' }),
    amqp: { url: await testAmqpUrl(), ...topology },
    retention: { maxAgeMs: 86_400_000, maxBytes: 1e9, intervalMs: 3_600_000 },
  });
  logUrl = (await logService.start()).url;
});

afterAll(async () => {
  await logService?.stop();
  await stack?.stop();
  // The test's own queue and exchange are durable: remove them so runs leave nothing on the broker.
  const connection = await connect(await testAmqpUrl());
  const channel = await connection.createChannel();
  await channel.deleteQueue(topology.queue);
  await channel.deleteExchange(topology.exchange);
  await connection.close();
});

type LogRecord = Record<string, unknown> & { msg: string };

async function query(params: Record<string, string>): Promise<LogRecord[]> {
  const response = await fetch(`${logUrl}${logApi.records}?${new URLSearchParams({ limit: '500', ...params })}`, {
    headers: { authorization: `Bearer ${operatorToken}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { records: LogRecord[] }).records;
}

it('a real FTPS session and an HTTPS request produce records found through the query API, by session id', async () => {
  const client = await connectBasicFtp(stack);
  const clientPort = client.ftp.socket.localPort;
  await client.uploadFrom(Readable.from([Buffer.alloc(4096, 7)]), 'logged.bin');
  await client.downloadTo(join(stack.dir, 'logged.back'), 'logged.bin');
  client.close();
  let httpsPort = 0;
  await new Promise<void>((resolve, reject) => {
    https
      .get(`https://127.0.0.1:${stack.ports.https}/`, { ca: stack.caPem }, (res) => {
        httpsPort = res.socket.localPort ?? 0;
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });

  let opened: LogRecord | undefined;
  await waitFor(async () => {
    opened = (await query({ service: 'tunnel-gateway', text: 'control connection opened' })).find((r) => r.clientPort === clientPort);
    return opened !== undefined;
  }, 10_000, 'the control connection record');
  expect(opened).toMatchObject({ client: '127.0.0.1', tls: expect.stringMatching(/^TLSv1\.[23]$/), cipher: expect.any(String), replica: 'test-gw' });
  const session = String(opened!.session);

  let records: LogRecord[] = [];
  await waitFor(async () => (records = await query({ session })).some((r) => r.msg === 'FTP control connection closed'), 10_000, 'the whole session');
  const messages = records.map((r) => r.msg);
  expect(messages).toEqual(
    expect.arrayContaining(['FTP control connection opened', 'FTP login attempt', 'FTP login succeeded', 'data connection admitted', 'data connection secured', 'transfer finished', 'FTP control connection closed']),
  );
  expect(records.find((r) => r.msg === 'FTP login attempt')).toMatchObject({ user: 'sttest' });
  expect(records.find((r) => r.msg === 'FTP login succeeded')).toMatchObject({ user: 'sttest', client: '127.0.0.1', clientPort, outcome: 'succeeded', reply: 230, level: 'info' });
  // The control connection's records carry one conn id of their own, as the data connections' do.
  const control = records.filter((r) => String(r.msg).startsWith('FTP '));
  expect(new Set(control.map((r) => r.conn)).size).toBe(1);
  expect(String(control[0]!.conn)).toMatch(/^ctl_[0-9a-f]{16}$/);
  const transfers = records.filter((r) => r.msg === 'transfer finished');
  expect(transfers).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ command: 'STOR', path: 'logged.bin', direction: 'upload', bytesToUpstream: 4096, ok: true }),
      expect.objectContaining({ command: 'RETR', path: 'logged.bin', direction: 'download', bytesToClient: 4096, ok: true }),
    ]),
  );
  // Data connections carry their own conn id and the session id, so one query follows both.
  const conn = String(records.find((r) => r.msg === 'data connection secured')!.conn);
  expect((await query({ conn })).every((r) => r.session === session)).toBe(true);
  expect(JSON.stringify(records)).not.toContain('test-Passw0rd');

  await waitFor(async () => (await query({ text: 'HTTPS connection opened' })).some((r) => r.clientPort === httpsPort), 10_000, 'the HTTPS connection record');
});

it('a failed FTP login leaves a record with the user, the client address and the outcome, never the password', async () => {
  const client = new Client(15_000);
  const wrongPassword = `wrong-${randomBytes(6).toString('hex')}`;
  const refused = await client
    .access({ host: '127.0.0.1', port: stack.ports.ftps, user: 'sttest', password: wrongPassword, secure: 'implicit', secureOptions: { ca: stack.caPem } })
    .then(() => null, (error: { code?: number }) => error);
  const clientPort = client.ftp.socket.localPort;
  client.close();
  expect(refused).toMatchObject({ code: 530 });

  let failed: LogRecord | undefined;
  await waitFor(async () => {
    failed = (await query({ service: 'tunnel-gateway', text: 'FTP login failed' })).find((r) => r.clientPort === clientPort);
    return failed !== undefined;
  }, 10_000, 'the failed login record');
  // warn: visible at the default level, and what fail2ban would match on.
  expect(failed).toMatchObject({ user: 'sttest', client: '127.0.0.1', outcome: 'failed', reply: 530, level: 'warn', conn: expect.stringMatching(/^ctl_/) });
  const session = String(failed!.session);
  await waitFor(async () => (await query({ session })).some((r) => r.msg === 'FTP control connection closed'), 10_000, 'the whole session');
  const records = await query({ session });
  expect(records.some((r) => r.msg === 'FTP login succeeded')).toBe(false);
  expect(JSON.stringify(records)).not.toContain(wrongPassword);
});

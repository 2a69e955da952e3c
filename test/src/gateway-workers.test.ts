/**
 * One gateway with GATEWAY_WORKERS=4, no balancer: the worker processes share
 * every public port (HTTPS, FTPS control, each passive port), so the data
 * connection of a session often reaches another worker than its control
 * connection; each worker is a replica in the lease sense, and transfers
 * complete intact with resumed sessions. The health port answers for all
 * workers; a worker killed is replaced while the others serve; SIGTERM stops
 * them all, and the gateway exits 0.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { connectBasicFtp, curl, ftpsUrl, lftp, sha256File, writeRandomFile } from './harness/clients.js';
import { orderedDownload } from './harness/ftp-ordering.js';
import { readRecords, startGatewayProcess, type GatewayProcess, type LogRecord } from './harness/gateway-process.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(180_000);

describe('a gateway of four worker processes', () => {
  let stack: Stack;
  let gateway: GatewayProcess;
  let sharedHash: string;

  beforeAll(async () => {
    stack = await startStack({ passivePorts: 40, settings: (settings) => ({ ...settings, tls: { ...settings.tls, requireSessionReuse: true } }) });
    // The stack's own in-process gateway makes way for the worker pool on the same ports.
    await stack.gateway.stop();
    gateway = await startGatewayProcess(stack, { replica: 'gw', workers: 4 });
    sharedHash = await writeRandomFile(join(stack.filesDir, 'shared.bin'), 1024 * 1024 + 3);
  });

  afterAll(async () => {
    await gateway?.kill();
    await stack?.stop();
  });

  const records = () => readRecords(gateway.logFile);

  it('the health port answers for all four workers, each a replica of its own', async () => {
    const { status, body } = await gateway.health();
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ready', replica: 'gw', pid: gateway.pid });
    expect(body.workers!.map((worker) => worker.status)).toEqual(['ready', 'ready', 'ready', 'ready']);
    expect(new Set(body.workers!.map((worker) => worker.pid)).size).toBe(4);
    expect((body.workers as Array<{ replica: string }>).map((worker) => worker.replica)).toEqual(['gw-w1', 'gw-w2', 'gw-w3', 'gw-w4']);
  });

  it('50 FTPS sessions (basic-ftp, curl, lftp; PASV and EPSV) transfer intact, many with control and data on different workers, every data connection resumed', async () => {
    const session = async (index: number) => {
      const mode = index % 2 === 0 ? 'PASV' : 'EPSV';
      const kind = index % 5;
      if (kind <= 1) {
        const client = await connectBasicFtp(stack, mode);
        try {
          const upload = randomBytes(100 * 1024 + index);
          await client.uploadFrom(Readable.from([upload]), `worker-upload-${index}.bin`);
          const transfer = await orderedDownload(client, `worker-upload-${index}.bin`, { mode, dataHost: '127.0.0.1', ca: stack.caPem });
          expect({ code: transfer.code, resumed: transfer.resumed, intact: transfer.bytes.equals(upload) }).toEqual({ code: 226, resumed: true, intact: true });
        } finally {
          client.close();
        }
        return;
      }
      const output = join(stack.dir, `worker-${index}.bin`);
      if (kind <= 3) {
        const result = await curl(stack, [...(mode === 'PASV' ? ['--disable-epsv'] : []), '-o', output, ftpsUrl(stack, 'shared.bin')]);
        expect(result).toMatchObject({ code: 0, stderr: '' });
      } else {
        const result = await lftp(stack, [`get shared.bin -o ${output}`], [`set ftp:prefer-epsv ${mode === 'EPSV'}`]);
        expect(result.code).toBe(0);
      }
      expect(await sha256File(output)).toBe(sharedHash);
    };
    for (let batch = 0; batch < 5; batch++) await Promise.all(Array.from({ length: 10 }, (_, i) => session(batch * 10 + i)));

    let log: LogRecord[] = [];
    await waitFor(async () => (log = await records()).filter((record) => record.msg === 'transfer finished').length >= 70, 10_000, 'every transfer recorded');
    const controlWorker = new Map(log.filter((record) => record.msg === 'FTP control connection opened').map((record) => [record.session, record.replica]));
    const data = log.filter((record) => record.msg === 'data connection admitted');
    // The kernel spreads connections over the workers (not evenly): many sessions cross.
    expect(data.filter((record) => controlWorker.get(record.session) !== record.replica).length).toBeGreaterThanOrEqual(10);
    expect(new Set(data.map((record) => record.replica)).size).toBeGreaterThanOrEqual(3);
    expect(log.filter((record) => record.msg === 'data connection secured').every((record) => record.resumed === true)).toBe(true);
    expect(log.filter((record) => record.msg === 'transfer finished' && record.ok !== true)).toEqual([]);
    await waitFor(async () => (await stack.leaseKeys()).length === 0, 15_000, 'no lease left');
  });

  it('the data-IP check holds on every worker: 127.0.0.2 is refused a lease of 127.0.0.1 before TLS, whichever worker it reaches', async () => {
    const client = await connectBasicFtp(stack, 'EPSV');
    try {
      const port = Number(/\|\|\|(\d+)\|/.exec((await client.send('EPSV')).message)![1]);
      // The kernel picks the worker for each connection: try until every worker has refused one (or 40 tries).
      const refusedBy = async () => new Set((await records()).filter((record) => record.msg === 'connection refused' && record.client === '127.0.0.2').map((record) => record.replica));
      for (let attempt = 0; attempt < 40; attempt++) {
        const thief = await new Promise<{ secured: boolean; bytes: number }>((resolve) => {
          const socket = tls.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2', ca: stack.caPem });
          socket.once('secureConnect', () => resolve({ secured: true, bytes: socket.bytesRead }));
          socket.once('error', () => resolve({ secured: false, bytes: socket.bytesRead }));
          socket.once('close', () => resolve({ secured: false, bytes: socket.bytesRead }));
        });
        expect(thief).toEqual({ secured: false, bytes: 0 });
        if (attempt % 4 === 3 && (await refusedBy()).size === 4) break;
      }
      const transfer = await orderedDownload(client, 'shared.bin', { mode: 'EPSV', dataHost: '127.0.0.1', ca: stack.caPem });
      expect(createHash('sha256').update(transfer.bytes).digest('hex')).toBe(sharedHash);
    } finally {
      client.close();
    }
    await waitFor(
      async () => new Set((await records()).filter((record) => record.msg === 'connection refused' && record.client === '127.0.0.2').map((record) => record.replica)).size >= 2,
      10_000,
      'refusals by more than one worker',
    );
  });

  it('a worker killed is replaced; the others serve meanwhile and after', async () => {
    const before = (await gateway.health()).body.workers!;
    const victim = before[1]!;
    process.kill(victim.pid!, 'SIGKILL');
    // Served while one worker is missing (the cluster hands connections only to live workers).
    for (let i = 0; i < 4; i++) {
      const result = await curl(stack, ['-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${stack.ports.https}/`]);
      expect(result.stdout).toBe('200');
    }
    await waitFor(
      async () => {
        const { status, body } = await gateway.health();
        return status === 200 && body.workers!.every((worker) => worker.status === 'ready') && body.workers![1]!.pid !== victim.pid;
      },
      20_000,
      'the worker replaced',
    );
    const client = await connectBasicFtp(stack, 'EPSV');
    try {
      const transfer = await orderedDownload(client, 'shared.bin', { mode: 'EPSV', dataHost: '127.0.0.1', ca: stack.caPem });
      expect(createHash('sha256').update(transfer.bytes).digest('hex')).toBe(sharedHash);
    } finally {
      client.close();
    }
    expect((await records()).some((record) => record.msg === 'gateway worker process exited; starting a new one' && record.signal === 'SIGKILL')).toBe(true);
  });

  it('SIGTERM stops every worker and the gateway exits 0, leaving no process and no lease', async () => {
    const workers = (await gateway.health()).body.workers!.map((worker) => worker.pid!);
    expect(await gateway.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
    expect(await stack.leaseKeys()).toEqual([]);
  });
});

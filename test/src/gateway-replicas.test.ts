/**
 * Three gateway replicas (each its own process, on its own loopback address,
 * sharing Redis and the ticket secret) behind Debian's HAProxy in TCP mode,
 * round-robin, with PROXY protocol v2: control and data connections of one
 * FTPS session land on different replicas, and everything still holds:
 * every byte, each completion reply only after the data connection's end,
 * resumed TLS sessions, the data-IP check, X-Forwarded-For. Then what goes
 * wrong across replicas: ABOR, a replica killed mid-transfer, a replica
 * stopped (SIGTERM) during a download.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { Client, enterPassiveModeIPv4, enterPassiveModeIPv6 } from 'basic-ftp';
import { curl, lftp, sha256File, writeRandomFile } from './harness/clients.js';
import { orderedDownload } from './harness/ftp-ordering.js';
import { readRecords, startGatewayProcess, type GatewayProcess, type LogRecord } from './harness/gateway-process.js';
import { haproxyBinary, startHaproxy } from './harness/haproxy.js';
import { ftpPassword, ftpUser, startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(240_000);

const balancerFront = '127.0.0.6';
const balancerSource = '127.0.0.5';
const replicaHosts = { 'gw-a': '127.0.0.11', 'gw-b': '127.0.0.12', 'gw-c': '127.0.0.13' } as const;
type ReplicaName = keyof typeof replicaHosts;

const suite = haproxyBinary ? describe : describe.skip;
if (!haproxyBinary) console.warn('haproxy is not installed (Debian package haproxy; scripts/bootstrap.sh installs it): the replica tests are skipped');

const records = (process: GatewayProcess) => readRecords(process.logFile);

suite('three gateway replicas behind HAProxy', () => {
  let stack: Stack;
  const replicas = new Map<ReplicaName, GatewayProcess>();
  let haproxy: Awaited<ReturnType<typeof startHaproxy>>;
  let sharedHash: string;

  const startReplica = async (name: ReplicaName) => {
    const replica = await startGatewayProcess(stack, { replica: name, bindHost: replicaHosts[name] });
    replicas.set(name, replica);
    return replica;
  };

  beforeAll(async () => {
    stack = await startStack({
      webUpstream: 'nginx',
      passivePorts: 40,
      settings: (settings) => ({
        ...settings,
        public: { ...settings.public, address: balancerFront },
        proxyProtocol: { ...settings.proxyProtocol, trustedProxies: [`${balancerSource}/32`] },
        // Data connections must resume the control connection's session, on whichever replica they land.
        tls: { ...settings.tls, requireSessionReuse: true },
        // A stopping replica drains for GATEWAY_STOP_DRAIN_MS (20 s), this being longer.
        timeouts: { ...settings.timeouts, drainMs: 60_000 },
      }),
    });
    // The stack's own in-process gateway is not part of this deployment.
    await stack.gateway.stop();
    await Promise.all((Object.keys(replicaHosts) as ReplicaName[]).map((name) => startReplica(name)));
    const targets = (port: number | null) => Object.values(replicaHosts).map((host) => ({ host, port }));
    haproxy = await startHaproxy(join(stack.dir, 'haproxy'), {
      bindAddress: balancerFront,
      sourceAddress: balancerSource,
      forwards: [
        { name: 'https', listen: { from: stack.ports.https, to: stack.ports.https }, targets: targets(stack.ports.https), proxyVersion: 2 },
        { name: 'ftps', listen: { from: stack.ports.ftps, to: stack.ports.ftps }, targets: targets(stack.ports.ftps), proxyVersion: 2 },
        { name: 'passive', listen: { from: stack.ports.passiveFrom, to: stack.ports.passiveTo }, targets: targets(null), proxyVersion: 2 },
      ],
    });
    sharedHash = await writeRandomFile(join(stack.filesDir, 'shared.bin'), 1024 * 1024 + 17);
  });

  afterAll(async () => {
    await haproxy?.stop();
    await Promise.all([...replicas.values()].map((replica) => replica.kill()));
    await stack?.stop();
  });

  async function allRecords(): Promise<LogRecord[]> {
    return (await Promise.all([...replicas.values()].map((replica) => records(replica)))).flat();
  }

  /** Records are written asynchronously: waits until `check` holds on them, then returns them. */
  async function recordsWhere(check: (log: LogRecord[]) => boolean, what: string): Promise<LogRecord[]> {
    let log: LogRecord[] = [];
    await waitFor(async () => check((log = await allRecords())), 10_000, what);
    return log;
  }

  async function noLeasesLeft(timeoutMs = 15_000): Promise<void> {
    await waitFor(async () => (await stack.leaseKeys()).length === 0, timeoutMs, 'no lease left in Redis').catch(async (error: Error) => {
      throw new Error(`${error.message}: ${(await stack.leaseKeys()).join(', ')}`);
    });
  }

  /** basic-ftp to `host` (the balancer, or one replica's own address). */
  async function basicFtp(host: string, mode: 'PASV' | 'EPSV' = 'EPSV'): Promise<Client> {
    const client = new Client(30_000);
    await client.access({ host, port: stack.ports.ftps, user: ftpUser, password: ftpPassword, secure: 'implicit', secureOptions: { ca: stack.caPem, checkServerIdentity: () => undefined } });
    client.prepareTransfer = mode === 'PASV' ? enterPassiveModeIPv4 : enterPassiveModeIPv6;
    return client;
  }

  /**
   * EPSV on `client`, then its data connection made straight to `host` (one
   * replica's own address), read slowly so a transfer on it is still running
   * when the test acts.
   */
  async function slowDataConnection(client: Client, host: string) {
    const port = Number(/\|\|\|(\d+)\|/.exec((await client.send('EPSV')).message)![1]);
    const socket = tls.connect({ host, port, ca: stack.caPem, session: (client.ftp.socket as tls.TLSSocket).getSession(), checkServerIdentity: () => undefined });
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      socket.pause();
      setTimeout(() => socket.resume(), 20);
    });
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    return { socket, closed, received: () => received };
  }

  /** One FTPS session through the balancer by one of three clients; resolves with what it checked. */
  async function session(index: number): Promise<string> {
    const kind = index % 5;
    const mode = index % 2 === 0 ? 'PASV' : 'EPSV';
    if (kind <= 1) {
      // basic-ftp: an upload of its own, then a download done by hand that records the order of data end and reply.
      const client = await basicFtp(balancerFront, mode);
      try {
        const upload = randomBytes(200 * 1024 + index);
        await client.uploadFrom(Readable.from([upload]), `upload-${index}.bin`);
        const transfer = await orderedDownload(client, `upload-${index}.bin`, { mode, dataHost: balancerFront, ca: stack.caPem });
        // The order the client sees is not the gateway's to keep here: two connections through a balancer each; the records show it.
        expect({ code: transfer.code, resumed: transfer.resumed, intact: transfer.bytes.equals(upload) }).toEqual({ code: 226, resumed: true, intact: true });
        return `basic-ftp ${mode}`;
      } finally {
        client.close();
      }
    }
    if (kind <= 3) {
      const output = join(stack.dir, `curl-${index}.bin`);
      const connectTo = ['--connect-to', `127.0.0.1:${stack.ports.ftps}:${balancerFront}:${stack.ports.ftps}`];
      // Half of them on TLS 1.2, where curl resumes by session id only: the sessions kept in Redis serve every replica.
      const tls12 = kind === 3 ? ['--tlsv1.2', '--tls-max', '1.2'] : [];
      const result = await curl(stack, [...connectTo, ...tls12, ...(mode === 'PASV' ? ['--disable-epsv'] : []), '-o', output, `ftps://${ftpUser}:${encodeURIComponent(ftpPassword)}@127.0.0.1:${stack.ports.ftps}/shared.bin`]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(await sha256File(output)).toBe(sharedHash);
      return `curl ${mode}${tls12.length > 0 ? ' TLS 1.2' : ''}`;
    }
    const output = join(stack.dir, `lftp-${index}.bin`);
    // Every other lftp session on TLS 1.2: resuming its session ticket (of the shared keys) must work across replicas too.
    const tls12 = Math.floor(index / 10) % 2 === 0 ? ['set ssl:priority NORMAL:-VERS-ALL:+VERS-TLS1.2'] : [];
    const result = await lftp(stack, [`get shared.bin -o ${output}`], [`set ftp:prefer-epsv ${mode === 'EPSV'}`, ...tls12], 60_000, 'implicit', balancerFront);
    expect(result.code).toBe(0);
    expect(await sha256File(output)).toBe(sharedHash);
    return `lftp ${mode}${tls12.length > 0 ? ' TLS 1.2' : ''}`;
  }

  it('50 FTPS sessions (basic-ftp, curl, lftp; PASV and EPSV) whose data connections land on other replicas transfer intact, each 226 sent after its carrier saw the data end, every data connection resumed', async () => {
    const kinds: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      kinds.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => session(batch * 10 + i)))));
    }
    expect(new Set(kinds)).toEqual(
      new Set(['basic-ftp PASV', 'basic-ftp EPSV', 'curl PASV', 'curl EPSV', 'curl PASV TLS 1.2', 'curl EPSV TLS 1.2', 'lftp PASV', 'lftp EPSV', 'lftp PASV TLS 1.2', 'lftp EPSV TLS 1.2']),
    );
    // Each replica writes its log on a timer of its own (every 100 ms): a carrier's "data connection ended" can reach
    // the file after the control replica's "transfer finished" did, so both are waited for.
    const carriedEnded = (all: LogRecord[]) => {
      const control = new Map(all.filter((record) => record.msg === 'FTP control connection opened').map((record) => [record.session, record.replica]));
      const ended = new Set(all.filter((record) => record.msg === 'data connection ended' || record.msg === 'data connection failed').map((record) => record.conn));
      return all.filter((record) => record.msg === 'data connection admitted' && control.get(record.session) !== record.replica).every((record) => ended.has(record.conn));
    };
    const log = await recordsWhere((all) => all.filter((record) => record.msg === 'transfer finished').length >= 70 && carriedEnded(all), 'every transfer and every data connection\'s end recorded');
    const controlReplica = new Map(log.filter((record) => record.msg === 'FTP control connection opened').map((record) => [record.session, record.replica]));
    const data = log.filter((record) => record.msg === 'data connection admitted');
    const crossing = data.filter((record) => controlReplica.get(record.session) !== record.replica);
    // Round-robin over three replicas: about two thirds of the data connections cross.
    expect(crossing.length).toBeGreaterThanOrEqual(20);
    expect(new Set(data.map((record) => record.replica))).toEqual(new Set(Object.keys(replicaHosts)));
    // Each crossing transfer's final reply went out after its carrier saw the data connection end (close_notify flushed).
    const ended = new Map(log.filter((record) => record.msg === 'data connection ended').map((record) => [record.conn, Date.parse(String(record.time))]));
    const finishedAt = (session: string | undefined) => log.filter((record) => record.msg === 'transfer finished' && record.session === session).map((record) => Date.parse(String(record.time)));
    for (const record of crossing) {
      const end = ended.get(record.conn);
      expect(end).toBeDefined();
      expect(finishedAt(record.session).some((time) => time >= end!)).toBe(true);
    }
    const secured = log.filter((record) => record.msg === 'data connection secured');
    expect(secured.length).toBe(data.length);
    expect(secured.every((record) => record.resumed === true)).toBe(true);
    expect(new Set(secured.map((record) => record.tls))).toEqual(new Set(['TLSv1.2', 'TLSv1.3']));
    expect(log.filter((record) => record.msg === 'transfer finished' && record.ok !== true)).toEqual([]);
    expect(log.filter((record) => /did not hear of this data connection/.test(record.msg))).toEqual([]);
    await noLeasesLeft();
  });

  it('control on one replica, data on another: while the client reads nothing from the data connection no 226 comes; then every byte, then the 226', async () => {
    const bigHash = await writeRandomFile(join(stack.filesDir, 'held.bin'), 32 * 1024 * 1024);
    const client = await basicFtp(replicaHosts['gw-a']);
    try {
      for (const [i, dataHost] of [replicaHosts['gw-b'], replicaHosts['gw-c'], replicaHosts['gw-b'], replicaHosts['gw-c']].entries()) {
        const transfer = await orderedDownload(client, 'held.bin', { mode: i < 2 ? 'EPSV' : 'PASV', dataHost, ca: stack.caPem, holdMs: 1500 });
        // Nothing final while the client held the data back; the reply came after (the tail of the data and
        // the reply then sit in the client's buffers together: which it reads first is its own affair).
        expect({ first: transfer.order[0], code: transfer.code, resumed: transfer.resumed }).toEqual({ first: 'hold-over', code: 226, resumed: true });
        expect(createHash('sha256').update(transfer.bytes).digest('hex')).toBe(bigHash);
      }
    } finally {
      client.close();
    }
    await noLeasesLeft();
  });

  it('the data-IP check holds through the balancer and across replicas: 127.0.0.2 is refused a lease of 127.0.0.1 before TLS, the rightful client is served', async () => {
    const client = await basicFtp(balancerFront);
    try {
      const port = Number(/\|\|\|(\d+)\|/.exec((await client.send('EPSV')).message)![1]);
      // Every replica refuses it: the thief tries through the balancer three times (round-robin) and directly.
      for (const host of [balancerFront, balancerFront, balancerFront, ...Object.values(replicaHosts)]) {
        const thief = await new Promise<{ secured: boolean; bytes: number }>((resolve) => {
          const socket = tls.connect({ host, port, localAddress: '127.0.0.2', ca: stack.caPem, checkServerIdentity: () => undefined });
          socket.once('secureConnect', () => resolve({ secured: true, bytes: socket.bytesRead }));
          socket.once('error', () => resolve({ secured: false, bytes: socket.bytesRead }));
          socket.once('close', () => resolve({ secured: false, bytes: socket.bytesRead }));
        });
        expect(thief).toEqual({ secured: false, bytes: 0 });
      }
      const transfer = await orderedDownload(client, 'shared.bin', { mode: 'EPSV', dataHost: balancerFront, ca: stack.caPem }).catch(() => null);
      // The lease above was replaced by the one orderedDownload took; that one is served.
      expect(transfer?.code).toBe(226);
      expect(createHash('sha256').update(transfer!.bytes).digest('hex')).toBe(sharedHash);
    } finally {
      client.close();
    }
    const refusedBy = (log: LogRecord[]) => new Set(log.filter((record) => record.msg === 'connection refused' && record.client === '127.0.0.2').map((record) => record.replica));
    await recordsWhere((log) => refusedBy(log).size === 3, 'a refusal record on every replica');
    await noLeasesLeft();
  });

  it('HTTPS through the balancer: every replica passes the real client address in X-Forwarded-For', async () => {
    for (let i = 0; i < 6; i++) {
      const result = await curl(stack, ['--interface', '127.0.0.3', '--connect-to', `127.0.0.1:${stack.ports.https}:${balancerFront}:${stack.ports.https}`, '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${stack.ports.https}/shared.bin`]);
      expect(result.stdout).toBe('200');
    }
    const access = await readFile(stack.nginxAccessLog, 'utf8');
    expect(access.split('\n').filter((line) => line.includes('/shared.bin') && line.includes('|127.0.0.3|https|')).length).toBeGreaterThanOrEqual(6);
    const openedOn = (log: LogRecord[]) => new Set(log.filter((record) => record.msg === 'HTTPS connection opened' && record.client === '127.0.0.3').map((record) => record.replica));
    await recordsWhere((log) => openedOn(log).size === 3, 'the client address in the records of every replica');
  });

  it('ABOR across replicas: the control session on one replica cuts the data connection on another; 426 then 226, the session goes on', async () => {
    await writeRandomFile(join(stack.filesDir, 'abort.bin'), 64 * 1024 * 1024);
    // Control on gw-a, data on gw-b, each reached at its own address.
    const client = await basicFtp(replicaHosts['gw-a']);
    try {
      const data = await slowDataConnection(client, replicaHosts['gw-b']);
      const replies: string[] = [];
      const listen = (chunk: Buffer) => replies.push(chunk.toString());
      client.ftp.socket.on('data', listen);
      client.ftp.socket.write('RETR abort.bin\r\n');
      await waitFor(() => data.received() > 256 * 1024, 20_000, 'download under way');
      client.ftp.socket.write('ABOR\r\n');
      // 426 for the transfer (the reason we know), then the file server's answer to ABOR (225 or 226).
      await waitFor(() => /^426 [^\n]*\n22[56] /m.test(replies.join('')), 20_000, 'the replies to ABOR');
      await data.closed;
      expect(replies.join('')).toMatch(/^426 Transfer aborted: client sent ABOR\.\r$/m);
      expect(data.received()).toBeLessThan(64 * 1024 * 1024);
      client.ftp.socket.off('data', listen);
      // The session goes on.
      expect((await client.list()).length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
    await recordsWhere((log) => log.some((record) => record.msg === 'data connection failed' && record.replica === 'gw-b' && record.error === 'DATA_ABORTED_BY_CLIENT'), 'gw-b cut the data connection for the ABOR');
    await noLeasesLeft();
  });

  it('a replica killed (SIGKILL) while it carries a data connection: that client gets a 426 within seconds (the records name the replica), other clients are untouched, no lease is left', async () => {
    await writeRandomFile(join(stack.filesDir, 'victim.bin'), 64 * 1024 * 1024);
    const victim = replicas.get('gw-c')!;
    // Control on gw-a, data on gw-c.
    const client = await basicFtp(replicaHosts['gw-a']);
    const bystander = await basicFtp(replicaHosts['gw-b']);
    try {
      const data = await slowDataConnection(client, replicaHosts['gw-c']);
      const final = client.ftp.handle('RETR victim.bin', (response, task) => {
        if (response instanceof Error) task.reject(response);
        else if (response.code >= 200) task.resolve(response);
      });
      await waitFor(() => data.received() > 256 * 1024, 20_000, 'download under way');
      const killedAt = Date.now();
      await victim.kill();
      const reply = await final.catch((error: { code?: number; message: string }) => error);
      expect(reply.code).toBe(426);
      // In plain words, without naming hosts to the client; the records name the replica.
      expect(reply.message).toBe('426 Transfer aborted: the gateway process carrying the data connection stopped.');
      // Bounded: the carrier's liveness lapses within 6 s, the watchdog looks every second.
      expect(Date.now() - killedAt).toBeLessThan(20_000);
      data.socket.destroy();
      // The control session goes on, and another client never noticed.
      expect((await client.list()).length).toBeGreaterThan(0);
      const transfer = await orderedDownload(bystander, 'shared.bin', { mode: 'EPSV', dataHost: replicaHosts['gw-b'], ca: stack.caPem });
      expect(transfer.code).toBe(226);
      expect(createHash('sha256').update(transfer.bytes).digest('hex')).toBe(sharedHash);
    } finally {
      client.close();
      bystander.close();
    }
    await recordsWhere((log) => log.some((record) => record.msg === 'data connection failed' && record.replica === 'gw-a' && record.carrier === 'gw-c'), 'the record naming the replica that stopped');
    await noLeasesLeft();
    await startReplica('gw-c');
  });

  it('SIGTERM during a 200 MiB download: the download completes intact, new connections go to the other replicas, the process exits 0 within the drain time', async () => {
    const hash = await writeRandomFile(join(stack.filesDir, 'drain.bin'), 200 * 1024 * 1024);
    const stopping = replicas.get('gw-b')!;
    const output = join(stack.dir, 'drain.out');
    // Straight to gw-b (control and data), slowed so the stop comes mid-transfer.
    const download = curl(stack, ['--limit-rate', '40M', '--connect-to', `127.0.0.1:${stack.ports.ftps}:${replicaHosts['gw-b']}:${stack.ports.ftps}`, '-o', output, `ftps://${ftpUser}:${encodeURIComponent(ftpPassword)}@127.0.0.1:${stack.ports.ftps}/drain.bin`]);
    await waitFor(async () => ((await stat(output).catch(() => null))?.size ?? 0) > 8 * 1024 * 1024, 30_000, 'download under way');
    const stoppedAt = Date.now();
    const exit = stopping.stop('SIGTERM');
    // New sessions through the balancer are served meanwhile (HAProxy skips the closed port).
    const other = await basicFtp(balancerFront);
    expect((await other.list()).length).toBeGreaterThan(0);
    other.close();
    expect(await download).toMatchObject({ code: 0, stderr: '' });
    expect(await sha256File(output)).toBe(hash);
    expect(await exit).toEqual({ code: 0, signal: null });
    // The transfer's own time (5 s at 40 MB/s), well within GATEWAY_STOP_DRAIN_MS (20 s by default).
    expect(Date.now() - stoppedAt).toBeLessThan(25_000);
    const log = await records(stopping);
    expect(log.some((record) => record.msg === 'stopping: letting open connections finish')).toBe(true);
    expect(log.filter((record) => record.msg === 'transfer finished' && record.path === 'drain.bin').map((record) => record.ok)).toEqual([true]);
    await noLeasesLeft();
    await startReplica('gw-b');
  });
});

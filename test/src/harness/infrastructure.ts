import net from 'node:net';
import { execFileSync } from 'node:child_process';

function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function dockerEngineAvailable(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

let redisUrlPromise: Promise<string> | null = null;

/**
 * Redis for tests: REDIS_URL when set, else a Redis on 127.0.0.1:6379, else
 * (only where a Docker engine exists) a throwaway container.
 */
export function testRedisUrl(): Promise<string> {
  redisUrlPromise ??= (async () => {
    if (process.env.REDIS_URL) return process.env.REDIS_URL;
    if (await reachable('127.0.0.1', 6379)) return 'redis://127.0.0.1:6379';
    if (!dockerEngineAvailable()) {
      throw new Error('No Redis: set REDIS_URL, start redis-server on 127.0.0.1:6379, or provide a Docker engine for testcontainers');
    }
    const { GenericContainer } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    return `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  })();
  return redisUrlPromise;
}

let amqpUrlPromise: Promise<string> | null = null;

/** RabbitMQ for tests, found the same way as Redis. */
export function testAmqpUrl(): Promise<string> {
  amqpUrlPromise ??= (async () => {
    if (process.env.AMQP_URL) return process.env.AMQP_URL;
    if (await reachable('127.0.0.1', 5672)) return 'amqp://guest:guest@127.0.0.1:5672';
    if (!dockerEngineAvailable()) {
      throw new Error('No RabbitMQ: set AMQP_URL, start rabbitmq-server on 127.0.0.1:5672, or provide a Docker engine for testcontainers');
    }
    const { GenericContainer } = await import('testcontainers');
    const container = await new GenericContainer('rabbitmq:3-alpine').withExposedPorts(5672).start();
    return `amqp://guest:guest@${container.getHost()}:${container.getMappedPort(5672)}`;
  })();
  return amqpUrlPromise;
}

/**
 * A Redis of one test's own on `port` (keeping nothing, like the deployment's):
 * the test can stop it to see the gateways without Redis and start it again,
 * without touching the Redis other tests share.
 */
export async function startOwnRedis(port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const { startForeground } = await import('./foreground.js');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  const server = await startForeground('redis-server', 'redis-server', args, { host: '127.0.0.1', port });
  return { url: `redis://127.0.0.1:${port}`, stop: () => server.stop() };
}

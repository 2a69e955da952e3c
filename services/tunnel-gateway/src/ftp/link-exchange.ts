import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '@st/logging';
import { decodeLinkReport, decodeResult, encodeLinkReport, type LinkProbe, type LinkReport, type RemoteLink } from './link-reports.js';

/** How often a gateway process says it is alive, and how long that holds. */
export const aliveRefreshMs = 2000;
const aliveTtlMs = 6000;
/** How long a stored end waits for its control session to look (it asks every second while it waits). */
const resultTtlMs = 120_000;
/** How long a data side keeps trying to store a link's end while Redis is away. */
const doneRetryMs = 30_000;
/** A report that cannot go out within this is left to the watchdog (stored ends) or the settle step (claims). */
const publishTimeoutMs = 1000;

// Stores the end first, then announces it: a control session that missed the message finds it stored.
const storeAndPublishScript = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return redis.call('PUBLISH', ARGV[3], ARGV[4])`;

// Deletes this process's liveness key only if a newer process with its name has not taken it over.
const releaseAliveScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface LinkReportHandler {
  (report: LinkReport): void;
}

/**
 * The Redis side of link reports between gateway processes: each process
 * listens on its own channel (named by its replica id), keeps a liveness key
 * with a random incarnation (a restarted process is a new one), and a data
 * side stores each link's end where the control side's watchdog can find it.
 */
export class LinkExchange {
  /** This process's run: a watchdog that sees another value under the replica's liveness key knows the carrier restarted. */
  readonly incarnation = randomBytes(8).toString('hex');
  private subscriber: Redis | null = null;
  private aliveTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly replica: string,
    private readonly logger: Logger,
  ) {}

  channelOf(replica: string): string {
    return `${this.prefix}links:${replica}`;
  }

  aliveKey(replica: string): string {
    return `${this.prefix}gateway-alive:${replica}`;
  }

  resultKey(linkId: string): string {
    return `${this.prefix}link-result:${linkId}`;
  }

  /** Listens on this process's channel and keeps its liveness key; reports that do not decode are dropped. */
  start(handle: LinkReportHandler): void {
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', (error) => this.logger.debug({ err: error }, 'link report channel error'));
    subscriber.on('message', (_channel: string, raw: string) => {
      const report = decodeLinkReport(raw);
      if (report) handle(report);
      else this.logger.warn({ length: raw.length }, 'an undecodable data connection report was dropped');
    });
    // On every (re)connection: ioredis renews only subscriptions Redis had confirmed, and a first one
    // asked while Redis was away is dropped with the command, not retried.
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channelOf(this.replica)).catch((error: Error) => this.logger.warn({ err: error }, 'could not listen for data connection reports; trying again on the next connection'));
    });
    subscriber.connect().catch(() => undefined);
    const refresh = () => {
      this.redis.set(this.aliveKey(this.replica), this.incarnation, 'PX', aliveTtlMs).catch(() => undefined);
    };
    refresh();
    this.aliveTimer = setInterval(refresh, aliveRefreshMs);
    this.aliveTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.aliveTimer) clearInterval(this.aliveTimer);
    await this.redis.eval(releaseAliveScript, 1, this.aliveKey(this.replica), this.incarnation).catch(() => undefined);
    this.subscriber?.disconnect();
  }

  /** Sends a report; false when it could not go out or nobody listens (the other process is gone). */
  async send(toReplica: string, report: LinkReport): Promise<boolean> {
    try {
      const receivers = await withTimeout(this.redis.publish(this.channelOf(toReplica), encodeLinkReport(report)), publishTimeoutMs);
      return receivers > 0;
    } catch {
      return false;
    }
  }

  /** Stores a link's end and announces it; tries again while Redis is away (the control side waits for it). */
  async reportDone(toReplica: string, report: Extract<LinkReport, { type: 'done' }>): Promise<void> {
    const deadline = Date.now() + doneRetryMs;
    for (;;) {
      try {
        await this.redis.eval(storeAndPublishScript, 1, this.resultKey(report.linkId), JSON.stringify(report.result), resultTtlMs, this.channelOf(toReplica), encodeLinkReport(report));
        return;
      } catch (error) {
        if (this.stopped || Date.now() > deadline) {
          this.logger.warn({ err: error, link: report.linkId, session: report.sessionId, replica: toReplica }, 'could not report how a data connection ended to its control session');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      }
    }
  }

  /** One look at a link carried elsewhere: its stored end, its active lease, its carrier's liveness. */
  async probe(link: RemoteLink, activeKey: string): Promise<LinkProbe> {
    try {
      const [stored, active, alive] = await Promise.all([this.redis.get(this.resultKey(link.linkId)), this.redis.exists(activeKey), this.redis.get(this.aliveKey(link.dataReplica))]);
      const result = stored === null ? null : decodeResult(safeJson(stored));
      if (result) return { kind: 'result', result };
      if (alive !== link.dataIncarnation) return { kind: 'carrier-gone' };
      return active === 1 ? { kind: 'running' } : { kind: 'vanished' };
    } catch {
      return { kind: 'store-error' };
    }
  }

  /** The stored end of a link, once its control session has it. */
  forget(linkId: string): void {
    this.redis.del(this.resultKey(linkId)).catch(() => undefined);
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

function withTimeout<T>(operation: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    operation,
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

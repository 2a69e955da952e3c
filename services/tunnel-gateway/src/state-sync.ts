import { routingKeys, type CertificateBundle, type PortMap } from '@st/contracts';
import { createEventSubscriber, type EventSubscriber } from '@st/bus';
import { retryWithBackoff, sleep } from '@st/service-kit';
import type { GatewayContext } from './gateway-context.js';
import { bundleIsUsable } from './tls-context.js';

/** What the sync hands over and asks about; the gateway answers. */
export interface StateSyncTarget {
  /** True when `bundle` is now the active certificate. */
  applyBundle(bundle: CertificateBundle, from: string): boolean;
  /** True when `portMap` is in force. */
  applyPortMap(portMap: PortMap, from: string): Promise<boolean>;
  /** The certificate or port map differs from what runs. */
  bundleChanged(bundle: CertificateBundle): boolean;
  portMapChanged(portMap: PortMap): boolean;
  /**
   * A fetch caused by an event is done, whether or not anything changed.
   * config-service announces its version whenever it (re)subscribes to the
   * replicas' reports, and each replica answers with where it stands, so a
   * restarted config-service knows them all at once instead of a heartbeat later.
   */
  eventHandled(): void;
}

/**
 * Keeps the gateway on the state config-service and cert-service own. Events
 * are notifications, state is pulled: a RabbitMQ event, every (re)connection
 * to the bus and a periodic timer all lead to one fetch of both documents, so
 * a missed event never leaves the gateway stale. Whatever was applied is
 * cached on disk for a restart while the owners are down.
 */
export class StateSync {
  private readonly abort = new AbortController();
  private fetching: Promise<void> = Promise.resolve();
  private fetchLoop: Promise<void> | null = null;
  private subscriber: EventSubscriber | null = null;
  /** Set while a fetch triggered by an event runs; a second event during it asks for one more. */
  private eventFetch: { running: Promise<void>; again: boolean } | null = null;

  constructor(
    private readonly context: GatewayContext,
    private readonly target: StateSyncTarget,
  ) {}

  start(): void {
    const { config, logger } = this.context;
    this.fetchLoop = this.keepFetching();
    if (config.amqpUrl) {
      this.subscriber = createEventSubscriber({
        url: config.amqpUrl,
        logger,
        name: `tunnel-gateway ${config.replica}`,
        ...(config.eventsExchange ? { exchange: config.eventsExchange } : {}),
        bindings: [routingKeys.configUpdated, routingKeys.certActivated],
        onMessage: (message) => {
          logger.info({ event: message.routingKey, body: message.body }, 'event received; fetching state');
          this.fetchOnEvent();
        },
        // Events are notifications: whatever was missed while disconnected is caught up by a fetch.
        onConnected: () => this.fetchOnEvent(),
      });
    }
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('gateway stopping'));
    await this.subscriber?.close().catch(() => undefined);
    await this.fetchLoop?.catch(() => undefined);
    await this.eventFetch?.running;
  }

  /**
   * Fetches the certificate bundle and the port map and applies what changed.
   * Fetches run one at a time (events, reconnections and the periodic loop all
   * come here), so an older answer can never be applied after a newer one.
   * The two documents are independent: config changes still apply while
   * cert-service is down, and the other way round. Rejects when either fetch
   * failed, so the periodic loop keeps retrying.
   */
  fetchOnce(): Promise<void> {
    const run = this.fetching.then(() => this.fetchNow());
    this.fetching = run.catch(() => undefined);
    return run;
  }

  /** Fetches now (coalescing bursts of events); failures are left to the periodic loop's retries. */
  private fetchOnEvent(): void {
    if (this.abort.signal.aborted) return;
    if (this.eventFetch) {
      this.eventFetch.again = true;
      return;
    }
    const state = { running: Promise.resolve(), again: false };
    this.eventFetch = state;
    state.running = (async () => {
      do {
        state.again = false;
        await this.fetchOnce().catch((error: Error) => this.context.logger.warn({ reason: error.message }, 'fetch after event failed'));
        if (!this.abort.signal.aborted) this.target.eventHandled();
      } while (state.again && !this.abort.signal.aborted);
      this.eventFetch = null;
    })();
  }

  /** Fetches both documents until they arrive, then refreshes them periodically. */
  private async keepFetching(): Promise<void> {
    const signal = this.abort.signal;
    try {
      for (;;) {
        await retryWithBackoff(() => this.fetchOnce(), {
          signal,
          initialMs: 250,
          maxMs: 10_000,
          onRetry: (error, attempt, delay) =>
            this.context.logger.warn({ attempt, retryInMs: delay, reason: (error as Error).message }, 'could not fetch gateway state'),
        });
        await sleep(this.context.config.refreshIntervalMs ?? 60_000, signal);
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  private async fetchNow(): Promise<void> {
    const { source } = this.context.config;
    const { cache } = this.context;
    const [bundle, portMap] = await Promise.allSettled([source.fetchBundle(), source.fetchPortMap()]);
    if (this.abort.signal.aborted) return;
    if (bundle.status === 'fulfilled' && this.target.bundleChanged(bundle.value)) {
      // Cached before it is used: whoever sees this certificate served (or the gateway ready) finds it on disk.
      if (bundleIsUsable(bundle.value)) {
        await cache
          .saveBundle(bundle.value)
          .catch((error: Error) => this.context.logger.warn({ err: error, cacheDir: this.context.config.cacheDir }, 'could not cache the certificate bundle'));
      }
      this.target.applyBundle(bundle.value, 'cert-service');
    }
    if (portMap.status === 'fulfilled' && this.target.portMapChanged(portMap.value)) {
      // Only a map that was applied is cached: a restart must not start from one whose ports could not be opened.
      if (await this.target.applyPortMap(portMap.value, 'config-service')) await cache.savePortMap(portMap.value);
    }
    const failures = [bundle, portMap].filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failures.length > 0) throw new Error(failures.map((failure) => (failure.reason as Error).message).join('; '));
  }
}

import { createEventSubscriber, type EventSubscriber } from '@st/bus';
import { certApi, certificateBundleSchema, routingKeys, type CertificateBundle } from '@st/contracts';
import type { Logger } from '@st/logging';
import { fetchJson, retryWithBackoff, sleep } from '@st/service-kit';

export interface ActiveCertificateOptions {
  certServiceUrl: string;
  /** A token cert-service accepts for the bundle (service or admin). */
  token: string;
  logger: Logger;
  amqpUrl?: string | undefined;
  eventsExchange?: string | undefined;
  /** Re-fetch even without an event (a missed event never leaves the console on an old certificate for long). */
  refreshMs?: number;
  onChange(bundle: CertificateBundle): void;
}

/**
 * Follows the active certificate as the gateway does: fetched over
 * authenticated HTTP at start, again on every `cert.activated` event and
 * bus reconnection, and periodically. The key stays in memory only.
 */
export class ActiveCertificate {
  private current: CertificateBundle | null = null;
  private subscriber: EventSubscriber | null = null;
  private readonly abort = new AbortController();
  private fetching: Promise<void> | null = null;

  constructor(private readonly options: ActiveCertificateOptions) {}

  get bundle(): CertificateBundle | null {
    return this.current;
  }

  /** Resolves with the first bundle (retrying while cert-service is away), then keeps following. */
  async start(): Promise<CertificateBundle> {
    const first = await retryWithBackoff(() => this.fetchBundle(), {
      signal: this.abort.signal,
      initialMs: 250,
      maxMs: 5000,
      onRetry: (error, attempt) => this.options.logger.warn({ attempt, reason: (error as Error).message }, 'console waits for the active certificate'),
    });
    this.accept(first);
    if (this.options.amqpUrl) {
      this.subscriber = createEventSubscriber({
        url: this.options.amqpUrl,
        logger: this.options.logger,
        name: 'console',
        ...(this.options.eventsExchange ? { exchange: this.options.eventsExchange } : {}),
        bindings: [routingKeys.certActivated],
        onMessage: () => this.refresh(),
        onConnected: () => this.refresh(),
      });
    }
    void this.poll();
    return first;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.subscriber?.close();
    await this.fetching?.catch(() => undefined);
  }

  /** Fetches now (one fetch at a time); failures are logged and the current certificate stays. */
  refresh(): Promise<void> {
    this.fetching ??= this.fetchBundle()
      .then((bundle) => this.accept(bundle))
      .catch((error: unknown) => {
        if (!this.abort.signal.aborted) this.options.logger.warn({ reason: (error as Error).message }, 'console could not fetch the active certificate; keeps the current one');
      })
      .finally(() => {
        this.fetching = null;
      });
    return this.fetching;
  }

  private async poll(): Promise<void> {
    try {
      for (;;) {
        await sleep(this.options.refreshMs ?? 60_000, this.abort.signal);
        await this.refresh();
      }
    } catch {
      // stopped
    }
  }

  private fetchBundle(): Promise<CertificateBundle> {
    return fetchJson(`${this.options.certServiceUrl}${certApi.activeBundle}`, this.options.token, certificateBundleSchema);
  }

  private accept(bundle: CertificateBundle): void {
    if (this.current?.id === bundle.id && this.current.fingerprintSha256 === bundle.fingerprintSha256) return;
    this.current = bundle;
    this.options.logger.info({ certificate: bundle.id, fingerprintSha256: bundle.fingerprintSha256, notAfter: bundle.notAfter }, 'console serves the active certificate');
    this.options.onChange(bundle);
  }
}

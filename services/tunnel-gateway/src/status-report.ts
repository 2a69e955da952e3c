import { createEventPublisher, type EventPublisher } from '@st/bus';
import { routingKeys, type GatewayHealthState, type GatewayStatusEvent } from '@st/contracts';
import type { Logger } from '@st/logging';

/** Who is reporting: fixed for the life of the process. */
export interface ReplicaIdentity {
  replica: string;
  pid: number;
  startedAt: string;
  heartbeatMs: number;
}

/** The parts of the gateway's status a report carries. */
export interface ReportedState {
  status: GatewayHealthState;
  reasons: string[];
  portMapVersion: number | null;
  tunnelEnabled: boolean | null;
  portMapFailure: { version: number; reason: string; at: string } | null;
  certificate: { id: string; fingerprintSha256: string } | null;
}

/** The report as it goes on the bus; pure. */
export function statusEvent(state: ReportedState, identity: ReplicaIdentity, now: Date): GatewayStatusEvent {
  return {
    ...identity,
    sentAt: now.toISOString(),
    status: state.status,
    reasons: state.reasons,
    portMap: { applied: state.portMapVersion, tunnelEnabled: state.tunnelEnabled, failed: state.portMapFailure },
    certificate: state.certificate ? { id: state.certificate.id, fingerprintSha256: state.certificate.fingerprintSha256 } : null,
  };
}

export interface StatusReporterOptions {
  amqpUrl: string;
  exchange?: string;
  logger: Logger;
  identity: ReplicaIdentity;
  state(): ReportedState;
}

/**
 * Tells config-service (over the events exchange) what this replica serves:
 * on every change the gateway signals, on every (re)connection, and as a
 * heartbeat. A report that cannot be sent is not queued: the next one is a
 * full snapshot anyway.
 */
export class StatusReporter {
  private readonly publisher: EventPublisher;
  private readonly heartbeat: NodeJS.Timeout;
  private sending: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(private readonly options: StatusReporterOptions) {
    this.publisher = createEventPublisher({
      url: options.amqpUrl,
      logger: options.logger,
      name: `tunnel-gateway ${options.identity.replica} status`,
      ...(options.exchange ? { exchange: options.exchange } : {}),
      onConnected: () => this.report(),
    });
    this.heartbeat = setInterval(() => this.report(), options.identity.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Sends the current state now, or right after the report in flight. */
  report(): void {
    if (this.closed) return;
    if (this.sending) {
      this.again = true;
      return;
    }
    this.sending = (async () => {
      do {
        this.again = false;
        await this.send(this.options.state());
      } while (this.again && !this.closed);
      this.sending = null;
    })();
  }

  private async send(state: ReportedState): Promise<void> {
    const event = statusEvent(state, this.options.identity, new Date());
    const sent = await this.publisher.publish(routingKeys.gatewayStatus, event);
    if (!sent) this.options.logger.debug({ status: event.status }, 'status report not delivered (bus down); the next one carries the same');
  }

  /** A last report (e.g. "offline") when the bus is up, then disconnects. */
  async close(last?: ReportedState): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    await this.sending;
    if (last && this.publisher.connected) await this.send(last);
    await this.publisher.close();
  }
}

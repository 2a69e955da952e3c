import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Listener, PortMap } from '@st/contracts';
import { rangeContains, formatRange } from '@st/contracts';
import type { Logger } from '@st/logging';
import {
  CommandSplitter,
  ReplyParser,
  classifyCommand,
  dataConnectionAllowed,
  formatCommandForLog,
  formatEpsvReply,
  formatPasvReply,
  formatReply,
  handlePbsz,
  handleProt,
  initialProtection,
  isPreliminary,
  isPositiveCompletion,
  parseEpsvReply,
  parsePasvReply,
  rewriteFeatReply,
  toIpv4,
  type FtpCommand,
  type FtpReply,
  type ProtectionState,
} from '@st/ftp-protocol';
import type { DataLink } from './data-link.js';
import { LeaseError, type LeaseStore, type PassiveLease } from './lease-store.js';
import { loginOutcome } from './login-outcome.js';
import type { DataLinkOwner, SessionRegistry } from './session-registry.js';
import type { AcceptedConnection } from '../tls-listener.js';

export interface ControlSessionContext {
  /** The ftp-control listener this session arrived on (its upstream target at accept time). */
  listener: Listener;
  portMap: () => PortMap;
  leases: LeaseStore;
  registry: SessionRegistry;
  replica: string;
  logger: Logger;
}

/** What happens to the upstream's final reply to a command. */
type FinalReplyHandler = (reply: FtpReply) => Promise<void> | void;

interface Expectation {
  /** null for the greeting. */
  command: FtpCommand | null;
  onFinal: FinalReplyHandler;
}

interface TransferState {
  /** Set by ABOR: a data connection that arrives late is torn down too. */
  abortRequested: boolean;
  /** The data connection whose end the final reply is waiting for. */
  link: DataLink | null;
}

interface PassiveState {
  lease: PassiveLease | null;
  link: DataLink | null;
}

/**
 * One FTP control connection: a TLS client on one side, the plain upstream
 * control connection on the other. Commands are taken one at a time (the next
 * waits for the final reply to the previous), so replies the gateway answers
 * itself never overtake the upstream's. ABOR is the exception: it goes through
 * at once while a transfer runs. Everything the gateway does not need to
 * change is relayed byte for byte.
 */
export class FtpControlSession implements DataLinkOwner {
  readonly id = `ses_${randomBytes(8).toString('hex')}`;
  /** This control connection, as `conn` in its records (each data connection has its own). */
  readonly conn = `ctl_${randomBytes(8).toString('hex')}`;
  private readonly logger: Logger;
  private readonly upstream: net.Socket;
  private readonly commands: CommandSplitter;
  private readonly replies = new ReplyParser();
  private readonly queue: Array<FtpCommand | { tooLong: number }> = [];
  private readonly expectations: Expectation[] = [];
  private replyChain: Promise<void> = Promise.resolve();
  private protection: ProtectionState = initialProtection;
  private passive: PassiveState = { lease: null, link: null };
  /** The transfer command in flight, from sending it until its final reply reached the client. */
  private transfer: TransferState | null = null;
  private closed = false;
  private user: string | null = null;

  constructor(
    private readonly client: TLSSocket,
    private readonly connection: AcceptedConnection,
    private readonly context: ControlSessionContext,
  ) {
    const portMap = context.portMap();
    this.logger = context.logger.child({ session: this.id, conn: this.conn });
    this.commands = new CommandSplitter(portMap.limits.maxCommandLength);
    context.registry.add(this);
    this.logger.info(
      {
        client: connection.remoteAddress,
        clientPort: connection.remotePort,
        port: connection.localPort,
        tls: client.getProtocol(),
        cipher: client.getCipher()?.name,
        sni: client.servername || null,
        resumed: client.isSessionReused(),
      },
      'FTP control connection opened',
    );

    const upstreamTarget = context.listener.upstream;
    this.upstream = net.connect({ host: upstreamTarget.host, port: upstreamTarget.ports.from, noDelay: true });
    this.expectations.push({ command: null, onFinal: (reply) => this.send(reply.raw) });
    this.upstream.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    this.upstream.on('error', (error) => {
      if (this.closed) return;
      this.logger.warn({ err: error, upstream: `${upstreamTarget.host}:${upstreamTarget.ports.from}` }, 'upstream control connection failed');
      this.send(formatReply(421, 'Service not available: the file server cannot be reached.'));
    });
    this.upstream.on('close', () => this.afterUpstreamClosed());

    client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    client.on('error', (error) => this.logger.debug({ err: error }, 'client control connection error'));
    client.on('close', () => this.end('client closed the control connection'));
    client.setTimeout(portMap.timeouts.controlIdleMs, () => this.onIdle());
  }

  /** Called by the data listener when the client's data connection claimed this session's lease. */
  attachDataLink(link: DataLink, lease: PassiveLease): void {
    if (this.closed || this.passive.lease?.publicPort !== lease.publicPort) {
      link.abort('the control session no longer expects this data connection');
      return;
    }
    this.passive = { lease: null, link };
    if (this.transfer?.abortRequested) link.abort('client sent ABOR');
    link.once('done', (result) => {
      this.logger.info({ link: link.id, ...result }, result.ok ? 'data connection finished' : 'data connection failed');
    });
  }

  // --- client side ---------------------------------------------------------

  private onClientData(chunk: Buffer): void {
    for (const result of this.commands.push(chunk)) {
      if (result.kind === 'too-long') {
        this.queue.push({ tooLong: result.maxLength });
        continue;
      }
      const { command } = result;
      // ABOR must reach the upstream while the transfer it aborts is still running.
      if (classifyCommand(command.verb) === 'abort' && this.transfer) {
        this.abortTransfer(command);
        continue;
      }
      this.queue.push(command);
    }
    this.processQueue();
  }

  private processQueue(): void {
    while (!this.closed && this.expectations.length === 0 && this.queue.length > 0) {
      const next = this.queue.shift()!;
      if ('tooLong' in next) {
        this.send(formatReply(500, `Command line too long (limit ${next.tooLong} bytes).`));
        continue;
      }
      this.handleCommand(next);
    }
  }

  private handleCommand(command: FtpCommand): void {
    this.logger.debug({ command: formatCommandForLog(command) }, 'command');
    const policy = this.context.portMap().tls;
    switch (classifyCommand(command.verb)) {
      case 'tls':
        return this.handleSecurityCommand(command, policy);
      case 'active':
        return this.send(
          formatReply(502, `${command.verb}: active mode is not available through this TLS gateway; use passive mode (PASV or EPSV).`),
        );
      case 'passive':
        return this.handlePassive(command);
      case 'download':
      case 'upload':
        if (!dataConnectionAllowed(this.protection, policy)) {
          return this.send(formatReply(521, 'Data connections must be encrypted: send "PBSZ 0" and "PROT P" first.'));
        }
        return this.handleTransfer(command);
      case 'feat':
        return this.forward(command, (reply) => this.send(rewriteFeatReply(reply.code === 211 ? reply : null)));
      default:
        if (command.verb === 'USER') {
          this.user = command.argument;
          this.logger.info({ user: this.user }, 'FTP login attempt');
        }
        return this.forward(command, (reply) => {
          this.logLoginOutcome(command.verb, reply);
          this.send(reply.raw);
        });
    }
  }

  /** Who logged in, or failed to, from where: what an operator (or fail2ban) needs to see guessing. Never the password. */
  private logLoginOutcome(verb: string, reply: FtpReply): void {
    const outcome = loginOutcome(verb, reply.code);
    if (!outcome) return;
    const fields = { user: this.user, client: this.connection.remoteAddress, clientPort: this.connection.remotePort, outcome, reply: reply.code };
    if (outcome === 'succeeded') this.logger.info(fields, 'FTP login succeeded');
    else this.logger.warn(fields, 'FTP login failed');
  }

  private handleSecurityCommand(command: FtpCommand, policy: PortMap['tls']): void {
    switch (command.verb) {
      case 'PBSZ': {
        const result = handlePbsz(this.protection, command.argument);
        this.protection = result.state;
        return this.send(result.reply);
      }
      case 'PROT': {
        const result = handleProt(this.protection, command.argument, { allowClearData: policy.allowClearData });
        this.protection = result.state;
        return this.send(result.reply);
      }
      case 'AUTH':
        return this.send(formatReply(534, 'AUTH is not needed: this connection is already protected by TLS (implicit FTPS).'));
      case 'CCC':
        return this.send(formatReply(534, 'CCC refused: the control connection stays encrypted.'));
      default:
        return this.send(formatReply(502, `${command.verb}: RFC 2228 security mechanisms other than TLS are not supported.`));
    }
  }

  // --- passive mode ----------------------------------------------------------

  private handlePassive(command: FtpCommand): void {
    // A new PASV abandons the previous data connection (RFC 959: one per transfer).
    this.dropPassive('client asked for a new passive port');
    this.forward(command, async (reply) => {
      if (reply.code !== 227 && reply.code !== 229) return this.send(reply.raw);
      let upstreamPort: number;
      try {
        upstreamPort = reply.code === 227 ? parsePasvReply(reply.text).port : parseEpsvReply(reply.text).port;
      } catch (error) {
        this.logger.warn({ err: error }, 'upstream sent an unusable passive reply');
        return this.send(formatReply(425, 'Cannot open passive data connection: the file server sent an unusable reply.'));
      }
      const announced = command.verb === 'PASV' ? this.announcedIpv4() : null;
      if (command.verb === 'PASV' && announced === null) {
        return this.send(formatReply(425, 'PASV cannot announce this server address (it is not IPv4); use EPSV.'));
      }
      let lease: PassiveLease;
      try {
        lease = await this.leasePublicPort(upstreamPort);
      } catch (error) {
        this.logger.warn({ err: error, upstreamPort }, 'passive lease refused');
        return this.send(formatReply(425, `Cannot open passive data connection: ${(error as Error).message}.`));
      }
      if (this.closed) {
        await this.context.leases.releasePending(lease.publicPort, this.id).catch(() => undefined);
        return;
      }
      this.passive = { lease, link: null };
      this.logger.debug({ publicPort: lease.publicPort, upstreamPort }, 'passive port leased');
      this.send(command.verb === 'PASV' ? formatPasvReply(announced!, lease.publicPort) : formatEpsvReply(lease.publicPort));
    });
  }

  /** The configured public address, or else the address this client reached us at. */
  private announcedIpv4(): string | null {
    const configured = this.context.portMap().publicAddress;
    return toIpv4(configured ?? this.connection.localAddress);
  }

  private async leasePublicPort(upstreamPort: number): Promise<PassiveLease> {
    const portMap = this.context.portMap();
    const dataListener = portMap.listeners.find((listener) => listener.protocol === 'ftp-data');
    if (!dataListener) throw new LeaseError('POOL_EXHAUSTED', 'passive data is not enabled on this gateway');
    const base = {
      upstreamPort,
      clientIp: this.connection.remoteAddress,
      sessionId: this.id,
      replica: this.context.replica,
      encryptData: !(this.protection.level === 'C' && portMap.tls.allowClearData),
    };
    const ttl = portMap.timeouts.passiveLeaseMs;
    if (portMap.passive.mode === 'pool') return this.context.leases.acquireFromPool(base, dataListener.ports, ttl);
    const publicPort = upstreamPort + portMap.passive.offset;
    if (!rangeContains(dataListener.ports, publicPort)) {
      throw new LeaseError(
        'POOL_EXHAUSTED',
        `the file server offered passive port ${upstreamPort}, outside the configured passive range ${formatRange(dataListener.upstream.ports)}`,
      );
    }
    const lease = { ...base, publicPort };
    await this.context.leases.acquireFixed(lease, ttl);
    return lease;
  }

  private dropPassive(reason: string): void {
    const { lease, link } = this.passive;
    this.passive = { lease: null, link: null };
    if (lease) this.context.leases.releasePending(lease.publicPort, this.id).catch(() => undefined);
    if (link && !link.finishedAlready) link.abort(reason);
  }

  // --- transfers -------------------------------------------------------------

  private handleTransfer(command: FtpCommand): void {
    const transfer: TransferState = { abortRequested: false, link: null };
    this.transfer = transfer;
    this.forward(command, async (reply) => {
      const { lease, link } = this.passive;
      this.passive = { lease: null, link: null };
      transfer.link = link;
      // The passive port served this transfer; a client that never connected must not keep it.
      if (lease) await this.context.leases.releasePending(lease.publicPort, this.id).catch(() => undefined);
      if (link) {
        // The completion reply must not reach the client before the data connection delivered every byte.
        const result = await link.done;
        this.logger.info(
          { command: command.verb, path: command.argument, direction: classifyCommand(command.verb), bytesToClient: result.bytesToClient, bytesToUpstream: result.bytesToUpstream, durationMs: result.durationMs, reply: reply.code, ok: result.ok },
          'transfer finished',
        );
        // A failed data connection overrides "complete" and the upstream's own data-connection
        // failure (425/426: it only saw the reset) with the reason the gateway knows.
        if (!result.ok && (isPositiveCompletion(reply.code) || reply.code === 425 || reply.code === 426)) {
          this.transfer = null;
          return this.send(formatReply(426, `Transfer aborted: ${result.reason ?? 'data connection failed'}.`));
        }
      }
      this.transfer = null;
      this.send(reply.raw);
    });
  }

  private abortTransfer(command: FtpCommand): void {
    // Upstream servers notice ABOR during a transfer only through TCP urgent data, which
    // cannot cross TLS; closing the data connection makes the upstream end the transfer.
    const transfer = this.transfer!;
    transfer.abortRequested = true;
    const link = transfer.link ?? this.passive.link;
    this.logger.debug({ link: link?.describe() ?? null }, 'ABOR during a transfer');
    // A transfer the upstream already finished completes normally (226, then ABOR's 225), as it would without us.
    if (link && !link.upstreamComplete) link.abort('client sent ABOR');
    this.forward(command, (reply) => this.send(reply.raw));
  }

  // --- upstream side ---------------------------------------------------------

  private forward(command: FtpCommand, onFinal: FinalReplyHandler): void {
    this.expectations.push({ command, onFinal });
    this.upstream.write(command.raw);
  }

  private onUpstreamData(chunk: Buffer): void {
    let replies: FtpReply[];
    try {
      replies = this.replies.push(chunk);
    } catch (error) {
      this.logger.warn({ err: error }, 'upstream broke the FTP reply syntax');
      this.send(formatReply(421, 'The file server sent an invalid reply; closing.'));
      this.end('invalid upstream reply');
      return;
    }
    for (const reply of replies) {
      // Replies are handled strictly in order, even when one must wait for its data connection.
      this.replyChain = this.replyChain.then(() => this.dispatchReply(reply));
    }
  }

  private async dispatchReply(reply: FtpReply): Promise<void> {
    if (this.closed) return;
    const expectation = this.expectations[0];
    if (!expectation || isPreliminary(reply.code)) {
      this.send(reply.raw);
      return;
    }
    this.expectations.shift();
    try {
      await expectation.onFinal(reply);
    } catch (error) {
      this.logger.error({ err: error }, 'reply handling failed');
      this.send(formatReply(451, 'Local error in processing.'));
    }
    this.processQueue();
  }

  private afterUpstreamClosed(): void {
    // Let every reply already received (QUIT's 221, a held 226) reach the client first.
    this.replyChain = this.replyChain.then(() => {
      if (!this.closed) this.client.end();
      this.end('upstream closed the control connection');
    });
  }

  // --- lifecycle -------------------------------------------------------------

  private onIdle(): void {
    if (this.transfer || (this.passive.link && !this.passive.link.finishedAlready)) return;
    this.logger.info({ idleMs: this.context.portMap().timeouts.controlIdleMs }, 'control connection idle; closing');
    this.send(formatReply(421, 'Idle timeout: closing control connection.'));
    this.client.end();
    this.end('idle timeout');
  }

  private send(data: Buffer | string): void {
    if (!this.closed && this.client.writable) this.client.write(data);
  }

  private end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.context.registry.remove(this);
    this.dropPassive(`control session ended: ${reason}`);
    if (!this.upstream.destroyed) this.upstream.end();
    setTimeout(() => this.upstream.destroy(), 2000).unref();
    if (!this.client.destroyed) {
      this.client.end();
      setTimeout(() => this.client.destroy(), 2000).unref();
    }
    this.logger.info({ reason, user: this.user }, 'FTP control connection closed');
  }
}

import net from 'node:net';
import { findPortHolders, type PortHolder } from './port-holder.js';

/** A port (or range) something is about to listen on, and why, for the message when it is taken. */
export interface PortNeed {
  /** What needs it, in the operator's words, e.g. "config-service API (CONFIG_PORT)". */
  what: string;
  host: string;
  from: number;
  to: number;
}

export interface PortProblem {
  need: PortNeed;
  port: number;
  /** The bind error's code: EADDRINUSE, EACCES, EADDRNOTAVAIL, … */
  code: string;
  holders: PortHolder[];
}

/** "what=host:port" or "what=host:from-to"; the host may be [IPv6]. */
export function parsePortNeed(text: string): PortNeed {
  const match = /^(.+)=(\[[^\]]+\]|[^:=]+):(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not "what=host:port" or "what=host:from-to"`);
  const from = Number(match[3]);
  const to = match[4] === undefined ? from : Number(match[4]);
  if (from < 1 || to > 65535 || from > to) throw new Error(`"${text}": ports must be from 1 to 65535, the range ascending`);
  return { what: match[1]!.trim(), host: match[2]!.replace(/^\[|\]$/g, ''), from, to };
}

function tryBind(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

/** Binds every port once, as the service will, and reports each that cannot be bound with whoever holds it. */
export async function checkPorts(needs: readonly PortNeed[]): Promise<PortProblem[]> {
  const problems: PortProblem[] = [];
  for (const need of needs) {
    for (let port = need.from; port <= need.to; port++) {
      const code = await tryBind(need.host, port);
      if (code === null) continue;
      const holders = code === 'EADDRINUSE' ? (await findPortHolders(port)).holders : [];
      problems.push({ need, port, code, holders });
    }
  }
  return problems;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** One line for the operator: which port, what needs it, who holds it. */
export function describePortProblem(problem: PortProblem): string {
  const where = `port ${problem.port} on ${formatHost(problem.need.host)}, needed for the ${problem.need.what},`;
  switch (problem.code) {
    case 'EADDRINUSE': {
      if (problem.holders.length === 0) return `${where} is already in use (by a process this user cannot see)`;
      const holders = problem.holders.map((holder) => `pid ${holder.pid} (${holder.command})`).join(', ');
      return `${where} is already in use by ${holders}`;
    }
    case 'EACCES':
      return `${where} may not be opened by this user (ports below 1024 need root or CAP_NET_BIND_SERVICE)`;
    case 'EADDRNOTAVAIL':
      return `${where} cannot be opened: this machine has no address ${problem.need.host}`;
    default:
      return `${where} cannot be opened: ${problem.code}`;
  }
}

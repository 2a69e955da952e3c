import { isIP } from 'node:net';
import { formatRange, type Listener, type PortMap, type PortRange } from '@st/contracts';

/**
 * The ports an operator must open (or forward on a router) for a port map,
 * and ready-to-paste rules for nftables, iptables and ufw. Pure: text out.
 *
 * No rendering sets a default-deny policy: pasted on a host whose SSH or other
 * services are open only because nothing filters them, a drop policy would cut
 * the operator off. The rules only add accepts; making them part of a
 * default-deny firewall is the operator's decision, and the comments say how.
 */

/** One port or range to open, with what it is for. */
export interface PublicPort {
  listenerId: string;
  protocol: 'tcp';
  ports: PortRange;
  /** The address the gateway binds; 0.0.0.0 or :: means every address of the host. */
  bindHost: string;
  purpose: string;
  /**
   * Where the gateway relays these connections. A router forwards the public
   * ports to the gateway's host, not here; this is for the operator's notes.
   */
  upstream: { host: string; ports: PortRange };
}

export type IpFamily = 'ipv4' | 'ipv6';

/** Table, chain and comment names the rules are recognisable by, for replacing or removing them later. */
export const firewallNames = {
  nftablesTable: 'secure_transfers',
  iptablesChain: 'SECURE-TRANSFERS',
  commentPrefix: 'secure-transfers',
} as const;

const wildcardHosts = new Set(['0.0.0.0', '::']);

function purposeOf(listener: Listener): string {
  if (listener.protocol === 'http') return 'HTTPS (web file manager)';
  if (listener.protocol === 'ftp-control') return listener.tlsMode === 'implicit' ? 'implicit FTPS control' : 'FTP control with AUTH TLS (explicit FTPS)';
  return 'FTPS passive data';
}

/** Every TCP port or range the gateway listens on; none when the tunnel is disabled, since then it opens none. */
export function publicPorts(portMap: PortMap): PublicPort[] {
  if (!portMap.tunnelEnabled) return [];
  return portMap.listeners.map((listener) => ({
    listenerId: listener.id,
    protocol: 'tcp',
    ports: { ...listener.ports },
    bindHost: listener.bindHost,
    purpose: purposeOf(listener),
    upstream: { host: listener.upstream.host, ports: { ...listener.upstream.ports } },
  }));
}

/**
 * Which destination address a rule may match. A wildcard bind is every
 * address; a host name is left unrestricted, because a firewall would resolve
 * it once at load time and silently keep a stale address.
 */
export type Destination = { kind: 'any' } | { kind: 'address'; family: IpFamily; address: string } | { kind: 'hostname'; name: string };

export function destinationOf(bindHost: string): Destination {
  if (wildcardHosts.has(bindHost)) return { kind: 'any' };
  const version = isIP(bindHost);
  if (version === 4) return { kind: 'address', family: 'ipv4', address: bindHost };
  if (version === 6) return { kind: 'address', family: 'ipv6', address: bindHost };
  return { kind: 'hostname', name: bindHost };
}

function headerLines(portMap: PortMap, marker: string, what: string): string[] {
  return [
    `${marker} Secure Transfers: ${what} for port map version ${portMap.version}`,
    `${marker} (port map generated at ${oneLine(portMap.generatedAt)}), rendered by config-service.`,
    `${marker} Not here on purpose: the service APIs, the console and the gateway's health port (7001-7005 by default)`,
    `${marker} carry admin tokens and listen on loopback; reach them through SSH (ssh -L), never open them.`,
  ];
}

function noPortsReason(portMap: PortMap): string {
  return portMap.tunnelEnabled ? 'no listener in this port map (web and FTP both disabled): no port to open' : 'the tunnel is disabled: no port to open';
}

/** Notes that apply to every format, as comment lines. */
function portNotes(port: PublicPort, marker: string): string[] {
  const destination = destinationOf(port.bindHost);
  const lines = [
    `${marker} ${port.listenerId}: ${port.purpose}, tcp ${formatRange(port.ports)} (relayed to ${oneLine(port.upstream.host)} ${formatRange(port.upstream.ports)})`,
  ];
  if (destination.kind === 'hostname') lines.push(`${marker}   bound to host name ${oneLine(destination.name)}: not restricted by address`);
  return lines;
}

/**
 * A self-contained file for `nft -f` (check with `nft -c -f`). Declaring and
 * then deleting the table first makes applying it again replace the earlier
 * rules instead of adding a second copy; the declaration keeps the delete from
 * failing the first time.
 */
export function renderNftables(portMap: PortMap): string {
  const ports = publicPorts(portMap);
  const table = firewallNames.nftablesTable;
  const lines = [
    '#!/usr/sbin/nft -f',
    ...headerLines(portMap, '#', 'TCP ports to accept'),
    '# Check: nft -c -f FILE    Apply: nft -f FILE (again after each change; it replaces its own table).',
    '#',
    '# policy accept, on purpose: this table only adds accepts and never drops, so pasting it cannot cut',
    '# off SSH or anything else. To make it the host firewall, add your own ports (e.g. tcp dport 22 accept)',
    '# and then change the policy to drop.',
    '# An accept in this table does not override a drop in another table: every base chain on the input hook',
    '# must accept. If this host already filters with policy drop (e.g. "table inet filter" in /etc/nftables.conf),',
    '# put the rules below into that chain instead, e.g.:',
  ];
  for (const port of ports) lines.push(`#   nft add rule inet filter input ${nftMatch(port)} accept`);
  lines.push('', `table inet ${table}`, `delete table inet ${table}`);
  if (ports.length === 0) {
    lines.push(`# ${noPortsReason(portMap)}; applying this file removes the rules an earlier version of it added.`);
    return `${lines.join('\n')}\n`;
  }
  lines.push('', `table inet ${table} {`, '\tchain input {', '\t\ttype filter hook input priority filter; policy accept;');
  for (const port of ports) {
    lines.push(...portNotes(port, '\t\t#'), `\t\t${nftMatch(port)} accept comment "${ruleComment(port)}"`);
  }
  lines.push('\t}', '}');
  return `${lines.join('\n')}\n`;
}

function nftMatch(port: PublicPort): string {
  const destination = destinationOf(port.bindHost);
  const address = destination.kind === 'address' ? `${destination.family === 'ipv4' ? 'ip' : 'ip6'} daddr ${destination.address} ` : '';
  return `${address}tcp dport ${formatRange(port.ports)}`;
}

/**
 * iptables-restore format (check with `iptables-restore --test --noflush`),
 * one file per address family since iptables and ip6tables are separate. The
 * rules live in their own chain: with --noflush, restoring declares (and so
 * empties) only that chain, keeping every other rule, and applying again
 * replaces them. A port bound to an address of the other family is left out.
 */
export function renderIptables(portMap: PortMap, family: IpFamily = 'ipv4'): string {
  const command = family === 'ipv4' ? 'iptables' : 'ip6tables';
  const chain = firewallNames.iptablesChain;
  const all = publicPorts(portMap);
  const ports = all.filter((port) => {
    const destination = destinationOf(port.bindHost);
    return destination.kind !== 'address' || destination.family === family;
  });
  const lines = [
    ...headerLines(portMap, '#', `TCP ports to accept (${family}, ${command}-restore format)`),
    `# Check: ${command}-restore --test --noflush < FILE    Apply: ${command}-restore --noflush < FILE`,
    `# Without --noflush, ${command}-restore would empty the whole filter table, your other rules included.`,
    `# Once, send INPUT through the ${chain} chain (safe to run again):`,
    `#   ${command} -C INPUT -j ${chain} 2>/dev/null || ${command} -I INPUT -j ${chain}`,
    '# Only accepts, no DROP and no policy change, so applying it cannot cut off SSH.',
  ];
  const otherFamily = all.length - ports.length;
  if (otherFamily > 0) lines.push(`# ${otherFamily} listener(s) bound to an ${family === 'ipv4' ? 'IPv6' : 'IPv4'} address are in the ${family === 'ipv4' ? 'ip6tables' : 'iptables'} rendering.`);
  if (all.length === 0) lines.push(`# ${noPortsReason(portMap)}; applying this file empties the ${chain} chain.`);
  lines.push('*filter', `:${chain} - [0:0]`);
  for (const port of ports) {
    const destination = destinationOf(port.bindHost);
    const address = destination.kind === 'address' ? `-d ${destination.address}/${family === 'ipv4' ? 32 : 128} ` : '';
    const dport = port.ports.from === port.ports.to ? String(port.ports.from) : `${port.ports.from}:${port.ports.to}`;
    lines.push(...portNotes(port, '#'), `-A ${chain} ${address}-p tcp -m tcp --dport ${dport} -m comment --comment "${ruleComment(port)}" -j ACCEPT`);
  }
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

/** The destination and port words of a ufw rule: what ufw identifies a rule by (with the protocol). */
function ufwTarget(port: PublicPort): { to: string; portSpec: string } {
  const destination = destinationOf(port.bindHost);
  return {
    to: destination.kind === 'address' ? destination.address : 'any',
    portSpec: port.ports.from === port.ports.to ? String(port.ports.from) : `${port.ports.from}:${port.ports.to}`,
  };
}

/**
 * ufw commands, one per port or range; ufw skips a rule it already has, so
 * running them again is harmless. ufw has no table of its own to replace, so
 * the rules of ports that earlier settings versions opened and this one no
 * longer does (`earlier`, e.g. a moved FTPS port) are deleted first; ufw
 * answers "Could not delete non-existent rule" for one already gone.
 */
export function renderUfw(portMap: PortMap, earlier: readonly PublicPort[] = []): string {
  const ports = publicPorts(portMap);
  const lines = [
    ...headerLines(portMap, '#', 'ufw commands'),
    '# Preview a command with: ufw --dry-run allow ...',
    '# These only add allow rules. If ufw is inactive they take effect with "ufw enable", which also denies',
    '# all other incoming traffic by default: allow your SSH port first (ufw allow OpenSSH).',
  ];
  const key = (port: PublicPort) => {
    const { to, portSpec } = ufwTarget(port);
    return `${to} ${portSpec}`;
  };
  const current = new Set(ports.map(key));
  const gone = new Map<string, PublicPort>();
  for (const port of earlier) if (!current.has(key(port)) && !gone.has(key(port))) gone.set(key(port), port);
  if (gone.size > 0) {
    lines.push('# Ports that earlier settings versions opened and this one does not: their rules go first.');
    for (const port of gone.values()) {
      const { to, portSpec } = ufwTarget(port);
      lines.push(`ufw delete allow proto tcp to ${to} port ${portSpec} comment '${ruleComment(port)}'`);
    }
  }
  if (ports.length === 0) {
    lines.push(`# ${noPortsReason(portMap)}.`, `# Rules added by hand or before the settings history carry the comment "${firewallNames.commentPrefix} ...": list them with "ufw status numbered" and remove them with "ufw delete NUMBER".`);
    return `${lines.join('\n')}\n`;
  }
  for (const port of ports) {
    const { to, portSpec } = ufwTarget(port);
    lines.push(...portNotes(port, '#'), `ufw allow proto tcp to ${to} port ${portSpec} comment '${ruleComment(port)}'`);
  }
  return `${lines.join('\n')}\n`;
}

/** Rule comments sit inside quotes in every format; listener ids are plain words, anything else becomes "_". */
function ruleComment(port: PublicPort): string {
  return `${firewallNames.commentPrefix} ${port.listenerId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** Comments must stay on one line, or the rest would be read as rules. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t\v\f]+/g, ' ');
}

import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import {
  Command,
  INETProtocol,
  IPv4Address,
  IPv4ProxyAddress,
  IPv6Address,
  IPv6ProxyAddress,
  Peer,
  TransportProtocol,
  V1ProxyProtocol,
  V2ProxyProtocol,
} from 'proxy-protocol-js';

/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2):
 * read from a trusted load balancer before the client's bytes, and written
 * by the gateway itself before its own bytes to a file server that wants to
 * know the client. Framing is ours (how many bytes the header is, so nothing
 * after it is taken); parsing and building a header is proxy-protocol-js's.
 */

/** Where the client really is; null: the balancer speaks for itself (a health check: LOCAL, UNKNOWN). */
export type ProxySource = { address: string; port: number } | null;

export type ProxyHeaderResult =
  | { kind: 'need-more' }
  | { kind: 'header'; source: ProxySource; version: 1 | 2; rest: Buffer }
  | { kind: 'invalid'; reason: string };

const v2Signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const v1Signature = Buffer.from('PROXY ');
/** A version 1 header is at most 107 bytes with its CRLF. */
const v1MaxLength = 107;
/** Version 2: 16 bytes, then the length they announce (addresses and TLVs); more than this is not a header we take. */
const v2MaxLength = 16 + 1024;

/** Collects bytes until the header is complete; what follows it is handed back as `rest`. */
export class ProxyHeaderReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ProxyHeaderResult {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    return readProxyHeader(this.buffered);
  }
}

/** Reads a header from the start of `bytes` (everything received so far). */
export function readProxyHeader(bytes: Buffer): ProxyHeaderResult {
  if (startsLike(bytes, v2Signature)) {
    if (bytes.length < v2Signature.length) return { kind: 'need-more' };
    if (bytes.length < 16) return { kind: 'need-more' };
    const total = 16 + bytes.readUInt16BE(14);
    if (total > v2MaxLength) return { kind: 'invalid', reason: `a version 2 header of ${total} bytes is longer than the ${v2MaxLength} accepted` };
    if (bytes.length < total) return { kind: 'need-more' };
    const parsed = parseV2(bytes.subarray(0, total));
    return parsed.kind === 'invalid' ? parsed : { ...parsed, rest: bytes.subarray(total) };
  }
  if (startsLike(bytes, v1Signature)) {
    const end = bytes.indexOf('\r\n');
    if (end === -1) {
      return bytes.length >= v1MaxLength ? { kind: 'invalid', reason: `a version 1 header has no CRLF within ${v1MaxLength} bytes` } : { kind: 'need-more' };
    }
    if (end + 2 > v1MaxLength) return { kind: 'invalid', reason: `a version 1 header is longer than ${v1MaxLength} bytes` };
    const parsed = parseV1(bytes.subarray(0, end + 2).toString('latin1'));
    return parsed.kind === 'invalid' ? parsed : { ...parsed, rest: bytes.subarray(end + 2) };
  }
  return { kind: 'invalid', reason: 'the connection does not start with a PROXY protocol header' };
}

/** Whether `bytes` could still become `signature` (a prefix of it, or starting with all of it). */
function startsLike(bytes: Buffer, signature: Buffer): boolean {
  const length = Math.min(bytes.length, signature.length);
  return length > 0 && bytes.subarray(0, length).equals(signature.subarray(0, length));
}

function parseV1(line: string): { kind: 'header'; source: ProxySource; version: 1 } | { kind: 'invalid'; reason: string } {
  // "PROXY UNKNOWN" may carry anything after it (the spec says to ignore it): the balancer's own connection.
  if (/^PROXY UNKNOWN[ \r]/.test(line)) return { kind: 'header', source: null, version: 1 };
  let header: V1ProxyProtocol;
  try {
    header = V1ProxyProtocol.parse(line);
  } catch {
    return { kind: 'invalid', reason: 'a version 1 header that does not parse' };
  }
  const family = header.inetProtocol === INETProtocol.TCP4 ? 4 : 6;
  const { ipAddress, port } = header.source;
  if (isIP(ipAddress) !== family || isIP(header.destination.ipAddress) !== family) return { kind: 'invalid', reason: `a version 1 header with addresses that are not ${header.inetProtocol}` };
  if (!(port >= 0 && port <= 65535) || !(header.destination.port >= 0 && header.destination.port <= 65535)) return { kind: 'invalid', reason: 'a version 1 header with a port out of range' };
  // An IPv4 client of a dual-stack balancer (::ffff:a.b.c.d): the same client as its IPv4 address, as in version 2.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ipAddress)?.[1];
  return { kind: 'header', source: { address: mapped ?? ipAddress, port }, version: 1 };
}

function parseV2(bytes: Buffer): { kind: 'header'; source: ProxySource; version: 2 } | { kind: 'invalid'; reason: string } {
  let header: V2ProxyProtocol;
  try {
    header = V2ProxyProtocol.parse(new Uint8Array(bytes));
  } catch (error) {
    return { kind: 'invalid', reason: `a version 2 header that does not parse (${(error as { message?: string }).message ?? 'invalid'})` };
  }
  if (header.command === Command.LOCAL) return { kind: 'header', source: null, version: 2 };
  const address = header.proxyAddress;
  if (address instanceof IPv4ProxyAddress) return { kind: 'header', source: { address: address.sourceAddress.address.join('.'), port: address.sourcePort }, version: 2 };
  if (address instanceof IPv6ProxyAddress) return { kind: 'header', source: { address: ipv6Text(address.sourceAddress.address), port: address.sourcePort }, version: 2 };
  // UNSPEC or a UNIX socket: nothing to say about the client's address.
  return { kind: 'header', source: null, version: 2 };
}

/** 16 bytes as the compressed text Node uses for socket addresses. */
function ipv6Text(bytes: readonly number[]): string {
  // An IPv4 client of a dual-stack balancer: the same client as its IPv4 address.
  if (bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12, 16).join('.');
  const groups: string[] = [];
  for (let index = 0; index < 16; index += 2) groups.push((((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0)).toString(16));
  const full = groups.join(':');
  // The URL parser compresses as Node's sockets report addresses.
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}

/** An endpoint of a connection, as a header names it. */
export interface ProxyEndpoint {
  address: string;
  port: number;
}

/**
 * The header the gateway sends first on a connection to the file server:
 * `source` is the client, `destination` the address and port the client
 * reached. Both IPv4, or both written as IPv6 (an IPv4 one as ::ffff:a.b.c.d),
 * since a header has one address family.
 */
export function buildProxyHeader(version: 1 | 2, source: ProxyEndpoint, destination: ProxyEndpoint): Buffer {
  const v4 = isIP(source.address) === 4 && isIP(destination.address) === 4;
  if (version === 1) {
    const text = (address: string) => (v4 ? address : ipaddr.parse(address).kind() === 'ipv4' ? `::ffff:${address}` : ipaddr.parse(address).toString());
    const header = new V1ProxyProtocol(v4 ? INETProtocol.TCP4 : INETProtocol.TCP6, new Peer(text(source.address), source.port), new Peer(text(destination.address), destination.port));
    return Buffer.from(header.build(), 'latin1');
  }
  const bytes = (address: string): number[] => {
    const parsed = ipaddr.parse(address);
    return v4 || parsed.kind() === 'ipv6' ? parsed.toByteArray() : (parsed as ipaddr.IPv4).toIPv4MappedAddress().toByteArray();
  };
  const addresses = v4
    ? new IPv4ProxyAddress(IPv4Address.createFrom(bytes(source.address)), source.port, IPv4Address.createFrom(bytes(destination.address)), destination.port)
    : new IPv6ProxyAddress(IPv6Address.createFrom(bytes(source.address)), source.port, IPv6Address.createFrom(bytes(destination.address)), destination.port);
  return Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, addresses).build());
}

/** The header for a connection the gateway opens to the file server on behalf of an accepted client. */
export function upstreamProxyHeader(version: 'v1' | 'v2', client: { remoteAddress: string; remotePort: number; localAddress: string; localPort: number }): Buffer {
  return buildProxyHeader(version === 'v1' ? 1 : 2, { address: client.remoteAddress, port: client.remotePort }, { address: client.localAddress, port: client.localPort });
}

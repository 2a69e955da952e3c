import { FtpProtocolError, quoteLine } from './errors.js';

export interface PassiveAddress {
  host: string;
  port: number;
}

// RFC 1123 §4.1.2.6: the six numbers may appear anywhere in the text, with or
// without parentheses, so the client must scan for them. Look-arounds keep
// "1234,..." from being read as "234,...".
const pasvNumbers = /(?<!\d)(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)(?!\d)/;

// RFC 2428 §3: "(<d><d><d><port><d>)" where <d> is one character in 33-126,
// the same character each time.
const epsvPort = /\(([\x21-\x7e])\1\1(\d+)\1\)/;

// Only a code followed by space, '-' or nothing, so bare numbers like "192,168,..." are not taken for one.
const leadingCode = /^(\d{3})(?:[ -]|$)/;

/** Host and port from a 227 reply (the whole reply line or just its text). */
export function parsePasvReply(reply: string): PassiveAddress {
  const fail = (why: string): never => {
    throw new FtpProtocolError('BAD_PASV_REPLY', `Can't parse PASV reply (${why}): ${quoteLine(reply)}`);
  };
  const code = leadingCode.exec(reply)?.[1];
  if (code !== undefined && code !== '227') fail(`expected code 227, got ${code}`);
  const match = pasvNumbers.exec(reply);
  if (!match) return fail('no h1,h2,h3,h4,p1,p2');
  const numbers = match.slice(1, 7).map(Number);
  if (numbers.some((n) => n > 255)) fail('number above 255');
  const [h1, h2, h3, h4, p1, p2] = numbers as [number, number, number, number, number, number];
  const port = p1 * 256 + p2;
  if (port === 0) fail('port 0');
  return { host: `${h1}.${h2}.${h3}.${h4}`, port };
}

/** Port from a 229 reply (the whole reply line or just its text). */
export function parseEpsvReply(reply: string): { port: number } {
  const fail = (why: string): never => {
    throw new FtpProtocolError('BAD_EPSV_REPLY', `Can't parse EPSV reply (${why}): ${quoteLine(reply)}`);
  };
  const code = leadingCode.exec(reply)?.[1];
  if (code !== undefined && code !== '229') fail(`expected code 229, got ${code}`);
  const match = epsvPort.exec(reply);
  if (!match) return fail('no (|||port|)');
  const port = Number(match[2]);
  if (!isPort(port)) fail('port out of range 1-65535');
  return { port };
}

/** A 227 reply for our own public address; never built from the upstream's host (bounce protection). */
export function formatPasvReply(ipv4: string, port: number): string {
  const host = toIpv4(ipv4);
  if (host === null) throw new FtpProtocolError('BAD_ADDRESS', `PASV needs an IPv4 address, got ${quoteLine(ipv4)}`);
  assertPort(port);
  return `227 Entering Passive Mode (${host.replace(/\./g, ',')},${port >> 8},${port & 0xff}).\r\n`;
}

export function formatEpsvReply(port: number): string {
  assertPort(port);
  return `229 Entering Extended Passive Mode (|||${port}|)\r\n`;
}

const dottedQuad = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const mappedDotted = /^(?:::|(?:0{1,4}:){5})ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;
const mappedHex = /^(?:::|(?:0{1,4}:){5})ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

/**
 * The dotted IPv4 form of an address, or null. Node reports IPv4 peers on
 * dual-stack sockets as IPv4-mapped IPv6 ("::ffff:1.2.3.4"), which PASV cannot carry.
 */
export function toIpv4(address: string): string | null {
  const quad = dottedQuad.exec(address);
  if (quad) {
    const octets = quad.slice(1, 5);
    // Leading zeros are refused: some parsers read them as octal.
    if (octets.some((octet) => Number(octet) > 255 || (octet.length > 1 && octet.startsWith('0')))) return null;
    return address;
  }
  const dotted = mappedDotted.exec(address);
  if (dotted) return toIpv4(dotted[1] as string);
  const hex = mappedHex.exec(address);
  if (hex) {
    const high = parseInt(hex[1] as string, 16);
    const low = parseInt(hex[2] as string, 16);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return null;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

function assertPort(port: number): void {
  if (!isPort(port)) throw new FtpProtocolError('BAD_PORT', `Port must be an integer in 1-65535, got ${port}`);
}

/**
 * Reads the server name (SNI, RFC 6066 §3) and the offered application
 * protocols (ALPN, RFC 7301) from the first bytes of a TLS connection, before
 * any TLS work: an ACME CA's TLS-ALPN-01 validation (RFC 8737) offers only
 * "acme-tls/1" and must be answered with another certificate than everyone
 * else gets. Pure; never throws on bad input.
 */

export interface ClientHelloSummary {
  serverName: string | null;
  alpn: string[];
  /** supported_versions (RFC 8446 §4.2.1): 0x0304 is TLS 1.3; empty for clients of TLS 1.2 and before. */
  versions: number[];
}

/** A TLS record holds at most 2^14 bytes of plaintext (RFC 8446 §5.1), after its 5-byte header. */
export const maxRecordBytes = 5 + 16_384;

/**
 * How many bytes the first TLS record of `bytes` spans: 0 when `bytes` is
 * not the start of a handshake record (nothing more to wait for), null when
 * its header has not fully arrived.
 */
export function firstRecordLength(bytes: Buffer): number | null {
  if (bytes.length === 0) return null;
  if (bytes[0] !== 22) return 0;
  if (bytes.length < 5) return null;
  return Math.min(maxRecordBytes, 5 + bytes.readUInt16BE(3));
}

/**
 * `bytes`: what the client sent first. null when it is not a complete
 * ClientHello in its first record (not TLS, or split across reads: such a
 * connection is treated as an ordinary one).
 */
export function readClientHello(bytes: Buffer): ClientHelloSummary | null {
  // TLS record: type 22 (handshake), version, length.
  if (bytes.length < 5 || bytes[0] !== 22) return null;
  const recordLength = bytes.readUInt16BE(3);
  if (bytes.length < 5 + recordLength) return null;
  const record = bytes.subarray(5, 5 + recordLength);
  // Handshake: type 1 (ClientHello), 24-bit length.
  if (record.length < 4 || record[0] !== 1) return null;
  const helloLength = record.readUIntBE(1, 3);
  if (record.length < 4 + helloLength) return null;
  const hello = record.subarray(4, 4 + helloLength);
  let at = 2 + 32; // client_version, random
  if (at + 1 > hello.length) return null;
  at += 1 + hello[at]!; // session_id
  if (at + 2 > hello.length) return null;
  at += 2 + hello.readUInt16BE(at); // cipher_suites
  if (at + 1 > hello.length) return null;
  at += 1 + hello[at]!; // compression_methods
  const summary: ClientHelloSummary = { serverName: null, alpn: [], versions: [] };
  if (at + 2 > hello.length) return summary;
  const extensionsEnd = Math.min(hello.length, at + 2 + hello.readUInt16BE(at));
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    const data = hello.subarray(at + 4, Math.min(extensionsEnd, at + 4 + length));
    at += 4 + length;
    if (type === 0) summary.serverName = hostName(data);
    else if (type === 16) summary.alpn = protocols(data);
    else if (type === 43) summary.versions = versions(data);
  }
  return summary;
}

/** The TLS 1.3 version number in supported_versions. */
export const tls13Version = 0x0304;

/** supported_versions in a ClientHello: a one-byte length, then two bytes a version. */
function versions(data: Buffer): number[] {
  if (data.length < 1) return [];
  const end = Math.min(data.length, 1 + data[0]!);
  const list: number[] = [];
  for (let at = 1; at + 2 <= end; at += 2) list.push(data.readUInt16BE(at));
  return list;
}

/** server_name: a list of (type, name); type 0 is a DNS host name. */
function hostName(data: Buffer): string | null {
  if (data.length < 2) return null;
  const end = Math.min(data.length, 2 + data.readUInt16BE(0));
  let at = 2;
  while (at + 3 <= end) {
    const type = data[at]!;
    const length = data.readUInt16BE(at + 1);
    if (at + 3 + length > end) return null;
    if (type === 0) {
      const name = data.toString('latin1', at + 3, at + 3 + length).toLowerCase();
      return /^[a-z0-9.-]{1,253}$/.test(name) ? name : null;
    }
    at += 3 + length;
  }
  return null;
}

/** application_layer_protocol_negotiation: a list of length-prefixed names. */
function protocols(data: Buffer): string[] {
  if (data.length < 2) return [];
  const end = Math.min(data.length, 2 + data.readUInt16BE(0));
  const names: string[] = [];
  let at = 2;
  while (at < end) {
    const length = data[at]!;
    if (length === 0 || at + 1 + length > end) break;
    names.push(data.toString('latin1', at + 1, at + 1 + length));
    at += 1 + length;
  }
  return names;
}

/** The protocol name of a TLS-ALPN-01 validation (RFC 8737 §6.2). */
export const acmeTlsAlpnProtocol = 'acme-tls/1';

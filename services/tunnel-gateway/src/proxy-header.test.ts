import { Command, IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress, TransportProtocol, UnspecProxyAddress, V2ProxyProtocol } from 'proxy-protocol-js';
import { ProxyHeaderReader, readProxyHeader, buildProxyHeader } from './proxy-header.js';

const v2 = (command: Command, address: IPv4ProxyAddress | IPv6ProxyAddress | UnspecProxyAddress): Buffer => Buffer.from(new V2ProxyProtocol(command, TransportProtocol.STREAM, address).build());
const v2Ipv4 = v2(Command.PROXY, new IPv4ProxyAddress(IPv4Address.createFrom([198, 51, 100, 7]), 50123, IPv4Address.createFrom([203, 0, 113, 9]), 990));
const v6 = (text: number[]) => IPv6Address.createFrom(text);
const v2Ipv6 = v2(Command.PROXY, new IPv6ProxyAddress(v6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 443, v6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]), 443));
const v2Mapped = v2(Command.PROXY, new IPv6ProxyAddress(v6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7]), 1, v6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 8]), 2));
const v2Local = v2(Command.LOCAL, new UnspecProxyAddress());
const tlsHello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]);

describe('readProxyHeader', () => {
  it.each([
    { desc: 'v1 TCP4', bytes: Buffer.from('PROXY TCP4 198.51.100.7 203.0.113.9 50123 443\r\n'), source: { address: '198.51.100.7', port: 50123 }, version: 1 },
    { desc: 'v1 TCP6', bytes: Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 40000 990\r\n'), source: { address: '2001:db8::1', port: 40000 }, version: 1 },
    { desc: 'v1 UNKNOWN (the balancer itself)', bytes: Buffer.from('PROXY UNKNOWN\r\n'), source: null, version: 1 },
    { desc: 'v1 UNKNOWN with addresses to ignore', bytes: Buffer.from('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n'), source: null, version: 1 },
    { desc: 'v2 IPv4', bytes: v2Ipv4, source: { address: '198.51.100.7', port: 50123 }, version: 2 },
    { desc: 'v2 IPv6', bytes: v2Ipv6, source: { address: '2001:db8::1', port: 443 }, version: 2 },
    { desc: 'v2 IPv4-mapped IPv6 is the IPv4 client', bytes: v2Mapped, source: { address: '192.0.2.7', port: 1 }, version: 2 },
    { desc: 'v2 LOCAL (a health check)', bytes: v2Local, source: null, version: 2 },
  ])('$desc, with the TLS bytes behind it handed back', ({ bytes, source, version }) => {
    const result = readProxyHeader(Buffer.concat([bytes, tlsHello]));
    expect(result).toEqual({ kind: 'header', source, version, rest: tlsHello });
  });

  it.each([
    { desc: 'a TLS ClientHello', bytes: tlsHello, reason: /does not start with a PROXY protocol header/ },
    { desc: 'plain FTP', bytes: Buffer.from('USER alice\r\n'), reason: /does not start with a PROXY/ },
    { desc: 'v1 with a bad protocol', bytes: Buffer.from('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'), reason: /does not parse/ },
    { desc: 'v1 with a name for an address', bytes: Buffer.from('PROXY TCP4 evil.example 5.6.7.8 1 2\r\n'), reason: /not TCP4/ },
    { desc: 'v1 with IPv6 under TCP4', bytes: Buffer.from('PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n'), reason: /not TCP4/ },
    { desc: 'v1 with a port past 65535', bytes: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n'), reason: /port out of range/ },
    { desc: 'v1 without CRLF within 107 bytes', bytes: Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`), reason: /no CRLF within 107 bytes/ },
    { desc: 'v2 with a bad version', bytes: Buffer.concat([v2Ipv4.subarray(0, 12), Buffer.from([0x31]), v2Ipv4.subarray(13)]), reason: /version 2 header that does not parse/ },
    { desc: 'v2 announcing 60 KiB', bytes: Buffer.concat([v2Ipv4.subarray(0, 14), Buffer.from([0xf0, 0x00])]), reason: /longer than the 1040 accepted/ },
  ])('refuses $desc', ({ bytes, reason }) => {
    const result = readProxyHeader(bytes);
    expect(result.kind).toBe('invalid');
    if (result.kind === 'invalid') expect(result.reason).toMatch(reason);
  });

  it('waits for more on every strict prefix of a header, in any chunking', () => {
    for (const header of [Buffer.from('PROXY TCP4 198.51.100.7 203.0.113.9 50123 443\r\n'), v2Ipv4, v2Ipv6]) {
      for (let cut = 1; cut < header.length; cut++) {
        expect(readProxyHeader(header.subarray(0, cut)).kind).toBe('need-more');
        const reader = new ProxyHeaderReader();
        expect(reader.push(header.subarray(0, cut)).kind).toBe('need-more');
        const done = reader.push(Buffer.concat([header.subarray(cut), tlsHello]));
        expect(done).toMatchObject({ kind: 'header', rest: tlsHello });
      }
    }
  });
});

describe('buildProxyHeader (what the gateway tells a file server about the client)', () => {
  it.each([
    { desc: 'v1, IPv4', version: 1 as const, source: { address: '198.51.100.7', port: 50123 }, destination: { address: '203.0.113.9', port: 990 }, text: 'PROXY TCP4 198.51.100.7 203.0.113.9 50123 990\r\n', read: '198.51.100.7' },
    { desc: 'v1, IPv6', version: 1 as const, source: { address: '2001:db8::7', port: 50123 }, destination: { address: '2001:db8::1', port: 443 }, text: 'PROXY TCP6 2001:db8::7 2001:db8::1 50123 443\r\n', read: '2001:db8::7' },
    { desc: 'v1, an IPv4 client on an IPv6 address: both as IPv6', version: 1 as const, source: { address: '198.51.100.7', port: 1 }, destination: { address: '2001:db8::1', port: 443 }, text: 'PROXY TCP6 ::ffff:198.51.100.7 2001:db8::1 1 443\r\n', read: '198.51.100.7' },
    { desc: 'v2, IPv4', version: 2 as const, source: { address: '198.51.100.7', port: 50123 }, destination: { address: '203.0.113.9', port: 990 }, text: null, read: '198.51.100.7' },
    { desc: 'v2, IPv6', version: 2 as const, source: { address: '2001:db8::7', port: 50123 }, destination: { address: '2001:db8::1', port: 443 }, text: null, read: '2001:db8::7' },
    { desc: 'v2, an IPv4 client on an IPv6 address: mapped, read back as IPv4', version: 2 as const, source: { address: '198.51.100.7', port: 7 }, destination: { address: '::1', port: 443 }, text: null, read: '198.51.100.7' },
  ])('$desc', ({ version, source, destination, text, read }) => {
    const header = buildProxyHeader(version, source, destination);
    if (text !== null) expect(header.toString('latin1')).toBe(text);
    // What a reader makes of it (our own, which follows the spec and is tested against HAProxy's headers above).
    const parsed = readProxyHeader(Buffer.concat([header, Buffer.from('USER x\r\n')]));
    expect(parsed).toEqual({ kind: 'header', source: { address: read, port: source.port }, version, rest: Buffer.from('USER x\r\n') });
  });
});

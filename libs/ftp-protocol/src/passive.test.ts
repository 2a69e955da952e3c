import { FtpProtocolError } from './errors.js';
import { formatEpsvReply, formatPasvReply, parseEpsvReply, parsePasvReply, toIpv4 } from './passive.js';

function thrown(fn: () => unknown): FtpProtocolError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FtpProtocolError) return error;
    throw error;
  }
  throw new Error('expected a throw');
}

describe('parsePasvReply', () => {
  it.each([
    { desc: 'the usual reply', reply: '227 Entering Passive Mode (192,168,1,20,11,185).', host: '192.168.1.20', port: 3001 },
    { desc: 'text only, no code', reply: 'Entering Passive Mode (10,0,0,1,4,0)', host: '10.0.0.1', port: 1024 },
    { desc: 'no parentheses (RFC 1123 §4.1.2.6)', reply: '227 Entering Passive Mode 127,0,0,1,195,80', host: '127.0.0.1', port: 50000 },
    { desc: 'equals sign instead of parentheses', reply: '227 =127,0,0,1,0,21', host: '127.0.0.1', port: 21 },
    { desc: 'spaces around commas', reply: '227 Passive (127, 0, 0, 1, 0, 21)', host: '127.0.0.1', port: 21 },
    { desc: 'with CRLF still attached', reply: '227 OK (1,2,3,4,5,6)\r\n', host: '1.2.3.4', port: 1286 },
    { desc: 'all maximums', reply: '227 (255,255,255,255,255,255)', host: '255.255.255.255', port: 65535 },
    { desc: 'zero host (caller must not trust it)', reply: '227 (0,0,0,0,0,1)', host: '0.0.0.0', port: 1 },
    { desc: 'leading zeros are decimal', reply: '227 (010,000,000,001,000,021)', host: '10.0.0.1', port: 21 },
    { desc: 'first of two candidates', reply: '227 (1,2,3,4,5,6) not (9,9,9,9,9,9)', host: '1.2.3.4', port: 1286 },
    { desc: 'multi-line reply text', reply: '227-Here\n227 (1,2,3,4,0,80)', host: '1.2.3.4', port: 80 },
  ])('parses $desc', ({ reply, host, port }) => {
    expect(parsePasvReply(reply)).toEqual({ host, port });
  });

  it.each([
    { desc: 'empty', reply: '' },
    { desc: 'only five numbers', reply: '227 Entering Passive Mode (192,168,1,20,11).' },
    { desc: 'a number above 255', reply: '227 Entering Passive Mode (192,168,1,256,11,185).' },
    { desc: 'a four-digit number', reply: '227 Entering Passive Mode (1192,168,1,20,11,185).' },
    { desc: 'a port byte above 255', reply: '227 (1,2,3,4,300,1)' },
    { desc: 'port zero', reply: '227 (1,2,3,4,0,0)' },
    { desc: 'negative-looking numbers are not enough', reply: '227 (1,2,3,4,-5,6)' },
    { desc: 'the wrong reply code', reply: '229 Entering Extended Passive Mode (|||6446|)' },
    { desc: 'an error reply that happens to contain six numbers', reply: '500 (1,2,3,4,5,6)' },
    { desc: 'semicolons', reply: '227 (1;2;3;4;5;6)' },
  ])('rejects $desc with BAD_PASV_REPLY quoting the reply', ({ reply }) => {
    const error = thrown(() => parsePasvReply(reply));
    expect(error.code).toBe('BAD_PASV_REPLY');
    expect(error.message).toContain(JSON.stringify(reply));
  });

  it('truncates a huge reply in the error message', () => {
    const error = thrown(() => parsePasvReply(`227 ${'x'.repeat(10_000)}`));
    expect(error.message.length).toBeLessThan(200);
  });
});

describe('parseEpsvReply', () => {
  it.each([
    { desc: 'the usual reply', reply: '229 Entering Extended Passive Mode (|||6446|)', port: 6446 },
    { desc: 'text only', reply: 'Entering Extended Passive Mode (|||3000|)', port: 3000 },
    { desc: 'another delimiter (RFC 2428 §3)', reply: '229 Entering Extended Passive Mode (!!!3000!)', port: 3000 },
    { desc: 'delimiter "~" (126)', reply: '229 (~~~65535~)', port: 65535 },
    { desc: 'delimiter "!" (33)', reply: '229 (!!!1!)', port: 1 },
    { desc: 'trailing period and CRLF', reply: '229 EPSV ok (|||21|).\r\n', port: 21 },
    { desc: 'leading zeros', reply: '229 (|||00021|)', port: 21 },
  ])('parses $desc', ({ reply, port }) => {
    expect(parseEpsvReply(reply)).toEqual({ port });
  });

  it.each([
    { desc: 'empty', reply: '' },
    { desc: 'no parentheses', reply: '229 Entering Extended Passive Mode |||6446|' },
    { desc: 'inconsistent delimiters', reply: '229 Entering Extended Passive Mode (|!|6446|)' },
    { desc: 'closing delimiter differs', reply: '229 (|||6446!)' },
    { desc: 'only two leading delimiters', reply: '229 (||6446|)' },
    { desc: 'a host in the address field', reply: '229 (|1|127.0.0.1|6446|)' },
    { desc: 'space as delimiter (outside 33-126)', reply: '229 (   6446 )' },
    { desc: 'port zero', reply: '229 (|||0|)' },
    { desc: 'port above 65535', reply: '229 (|||65536|)' },
    { desc: 'a huge port', reply: '229 (|||99999999999999999999|)' },
    { desc: 'no port', reply: '229 (||||)' },
    { desc: 'non-digit port', reply: '229 (|||12a|)' },
    { desc: 'the wrong reply code', reply: '227 Entering Passive Mode (|||6446|)' },
  ])('rejects $desc with BAD_EPSV_REPLY quoting the reply', ({ reply }) => {
    const error = thrown(() => parseEpsvReply(reply));
    expect(error.code).toBe('BAD_EPSV_REPLY');
    expect(error.message).toContain(JSON.stringify(reply));
  });
});

describe('formatPasvReply', () => {
  it.each([
    { desc: 'a private address', ip: '192.168.1.20', port: 4001, expected: '227 Entering Passive Mode (192,168,1,20,15,161).\r\n' },
    { desc: 'a port below 256', ip: '10.0.0.1', port: 21, expected: '227 Entering Passive Mode (10,0,0,1,0,21).\r\n' },
    { desc: 'the highest port', ip: '1.2.3.4', port: 65535, expected: '227 Entering Passive Mode (1,2,3,4,255,255).\r\n' },
    { desc: 'an IPv4-mapped IPv6 address', ip: '::ffff:203.0.113.7', port: 4000, expected: '227 Entering Passive Mode (203,0,113,7,15,160).\r\n' },
  ])('formats $desc', ({ ip, port, expected }) => {
    expect(formatPasvReply(ip, port)).toBe(expected);
    expect(parsePasvReply(expected)).toEqual({ host: toIpv4(ip), port });
  });

  it.each([
    { desc: 'an IPv6 address', ip: '2001:db8::1', port: 4000, code: 'BAD_ADDRESS' },
    { desc: 'a host name', ip: 'example.com', port: 4000, code: 'BAD_ADDRESS' },
    { desc: 'an octet above 255', ip: '1.2.3.256', port: 4000, code: 'BAD_ADDRESS' },
    { desc: 'port zero', ip: '1.2.3.4', port: 0, code: 'BAD_PORT' },
    { desc: 'port above 65535', ip: '1.2.3.4', port: 65536, code: 'BAD_PORT' },
    { desc: 'a fractional port', ip: '1.2.3.4', port: 21.5, code: 'BAD_PORT' },
    { desc: 'NaN port', ip: '1.2.3.4', port: Number.NaN, code: 'BAD_PORT' },
  ])('refuses $desc', ({ ip, port, code }) => {
    expect(thrown(() => formatPasvReply(ip, port)).code).toBe(code);
  });
});

describe('formatEpsvReply', () => {
  it.each([
    { desc: 'a port', port: 4001, expected: '229 Entering Extended Passive Mode (|||4001|)\r\n' },
    { desc: 'port 1', port: 1, expected: '229 Entering Extended Passive Mode (|||1|)\r\n' },
    { desc: 'port 65535', port: 65535, expected: '229 Entering Extended Passive Mode (|||65535|)\r\n' },
  ])('formats $desc', ({ port, expected }) => {
    expect(formatEpsvReply(port)).toBe(expected);
    expect(parseEpsvReply(expected)).toEqual({ port });
  });

  it.each([
    { desc: 'port zero', port: 0 },
    { desc: 'port above 65535', port: 70000 },
    { desc: 'a negative port', port: -1 },
    { desc: 'a fractional port', port: 1.5 },
  ])('refuses $desc', ({ port }) => {
    expect(thrown(() => formatEpsvReply(port)).code).toBe('BAD_PORT');
  });
});

describe('toIpv4', () => {
  it.each([
    { desc: 'dotted IPv4', address: '192.0.2.1', expected: '192.0.2.1' },
    { desc: 'all zeros', address: '0.0.0.0', expected: '0.0.0.0' },
    { desc: 'broadcast', address: '255.255.255.255', expected: '255.255.255.255' },
    { desc: 'IPv4-mapped IPv6', address: '::ffff:1.2.3.4', expected: '1.2.3.4' },
    { desc: 'IPv4-mapped IPv6 in upper case', address: '::FFFF:1.2.3.4', expected: '1.2.3.4' },
    { desc: 'IPv4-mapped IPv6 written in full', address: '0:0:0:0:0:ffff:10.0.0.1', expected: '10.0.0.1' },
    { desc: 'IPv4-mapped IPv6 in hex', address: '::ffff:c000:0201', expected: '192.0.2.1' },
    { desc: 'IPv6', address: '2001:db8::1', expected: null },
    { desc: 'IPv6 loopback', address: '::1', expected: null },
    { desc: 'IPv4-compatible (not mapped) IPv6', address: '::1.2.3.4', expected: null },
    { desc: 'mapped address with a bad octet', address: '::ffff:1.2.3.999', expected: null },
    { desc: 'an octet above 255', address: '256.1.1.1', expected: null },
    { desc: 'leading zero (octal in some parsers)', address: '010.0.0.1', expected: null },
    { desc: 'three octets', address: '1.2.3', expected: null },
    { desc: 'five octets', address: '1.2.3.4.5', expected: null },
    { desc: 'surrounding space', address: ' 1.2.3.4', expected: null },
    { desc: 'a host name', address: 'localhost', expected: null },
    { desc: 'empty', address: '', expected: null },
  ])('converts $desc', ({ address, expected }) => {
    expect(toIpv4(address)).toBe(expected);
  });
});

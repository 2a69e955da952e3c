import { AddressList, clientAddress, parseAddressRange } from './address-ranges.js';

describe('parseAddressRange', () => {
  it.each([
    ['192.0.2.7', { address: '192.0.2.7', prefix: 32, family: 'ipv4' }],
    [' 10.0.0.0/8 ', { address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
    ['0.0.0.0/0', { address: '0.0.0.0', prefix: 0, family: 'ipv4' }],
    ['2001:db8::1', { address: '2001:db8::1', prefix: 128, family: 'ipv6' }],
    ['2001:db8::/32', { address: '2001:db8::', prefix: 32, family: 'ipv6' }],
  ])('%s is a range', (entry, range) => {
    expect(parseAddressRange(entry)).toEqual({ ok: true, range });
  });

  it.each([
    ['example.com', 'is not an IP address'],
    ['10.0.0.0/33', 'from 0 to 32'],
    ['2001:db8::/129', 'from 0 to 128'],
    ['10.0.0.0/', 'from 0 to 32'],
    ['10.0.0.0/8x', 'from 0 to 32'],
    ['10.0.0.0/-1', 'from 0 to 32'],
    ['300.1.1.1', 'is not an IP address'],
    ['', 'is not an IP address'],
  ])('%j is refused (%s)', (entry, words) => {
    const parsed = parseAddressRange(entry);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(words);
  });
});

describe('AddressList', () => {
  const list = new AddressList(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', 'not-an-address']);
  it.each([
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['::ffff:10.9.9.9', true],
    ['2001:DB8::5', true],
    ['2001:db9::5', false],
    ['garbage', false],
  ])('%s → %s', (address, expected) => {
    expect(list.has(address)).toBe(expected);
  });

  it('skips entries that do not parse and is empty when nothing does', () => {
    expect(list.size).toBe(3);
    expect(new AddressList(['x']).has('127.0.0.1')).toBe(false);
  });

  it('clientAddress unwraps IPv4-mapped IPv6 and lowercases', () => {
    expect(clientAddress('::FFFF:127.0.0.1')).toBe('127.0.0.1');
    expect(clientAddress('2001:DB8::1')).toBe('2001:db8::1');
  });
});

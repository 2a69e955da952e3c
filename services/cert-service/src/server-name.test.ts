import { ipAddressBytes, parseServerName } from './server-name.js';

describe('parseServerName', () => {
  it.each([
    { desc: 'DNS name', input: 'files.example.test', value: { kind: 'dns', name: 'files.example.test' } },
    { desc: 'single label', input: 'localhost', value: { kind: 'dns', name: 'localhost' } },
    { desc: 'upper case is lower-cased', input: 'Files.Example.TEST', value: { kind: 'dns', name: 'files.example.test' } },
    { desc: 'hyphens and digits', input: 'ftp-2.example-1.test', value: { kind: 'dns', name: 'ftp-2.example-1.test' } },
    { desc: 'punycode', input: 'xn--bcher-kva.example', value: { kind: 'dns', name: 'xn--bcher-kva.example' } },
    { desc: 'surrounding spaces', input: '  files.example.test ', value: { kind: 'dns', name: 'files.example.test' } },
    { desc: 'IPv4', input: '127.0.0.1', value: { kind: 'ip', name: '127.0.0.1', version: 4 } },
    { desc: 'IPv6', input: '::1', value: { kind: 'ip', name: '::1', version: 6 } },
    { desc: 'bracketed IPv6', input: '[2001:db8::7]', value: { kind: 'ip', name: '2001:db8::7', version: 6 } },
  ])('accepts $desc', ({ input, value }) => {
    expect(parseServerName(input)).toEqual({ ok: true, value });
  });

  it.each([
    { desc: 'empty', input: '  ', message: /server name is empty/ },
    { desc: 'underscore', input: 'my_files.example', message: /label "my_files" may contain only letters, digits and inner hyphens/ },
    { desc: 'leading hyphen', input: '-files.example', message: /label "-files"/ },
    { desc: 'trailing hyphen', input: 'files-.example', message: /label "files-"/ },
    { desc: 'double dot', input: 'files..example', message: /empty label/ },
    { desc: 'leading dot', input: '.example', message: /empty label/ },
    { desc: 'trailing dot', input: 'files.example.', message: /ends with a dot/ },
    { desc: 'space inside', input: 'files example', message: /spaces or non-ASCII/ },
    { desc: 'non-ASCII', input: 'bücher.example', message: /xn-- form/ },
    { desc: 'wildcard', input: '*.example.test', message: /label "\*"/ },
    { desc: 'URL instead of a name', input: 'https://files.example', message: /only letters, digits/ },
    { desc: 'bad IPv4', input: '256.1.1.1', message: /looks like an IP address/ },
    { desc: 'short IPv4', input: '10.1.1', message: /looks like an IP address/ },
    { desc: 'label over 63 characters', input: 'a'.repeat(64), message: /label "a+" is longer than 63 characters/ },
    { desc: 'name over 64 characters', input: `${'a'.repeat(40)}.${'b'.repeat(40)}.test`, message: /longer than 64 characters/ },
  ])('rejects $desc', ({ input, message }) => {
    const result = parseServerName(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });
});

describe('ipAddressBytes', () => {
  it.each([
    { address: '127.0.0.1', hex: '7f000001' },
    { address: '::1', hex: '00000000000000000000000000000001' },
    { address: '::', hex: '00000000000000000000000000000000' },
    { address: '2001:db8::7', hex: '20010db8000000000000000000000007' },
    { address: 'fe80::1:2', hex: 'fe800000000000000000000000010002' },
    { address: '2001:db8:1:2:3:4:5:6', hex: '20010db8000100020003000400050006' },
    { address: '::ffff:192.0.2.1', hex: '00000000000000000000ffffc0000201' },
    { address: '1::', hex: '00010000000000000000000000000000' },
  ])('$address', ({ address, hex }) => {
    expect(ipAddressBytes(address).toString('hex')).toBe(hex);
  });
});

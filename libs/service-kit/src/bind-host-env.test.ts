import { apiBindHost } from './bind-host-env.js';

describe('apiBindHost', () => {
  it.each([
    { desc: 'nothing set: loopback', env: {}, variable: 'CONFIG_HOST', expected: '127.0.0.1' },
    { desc: 'empty values count as unset', env: { API_BIND_HOST: ' ', CONFIG_HOST: '' }, variable: 'CONFIG_HOST', expected: '127.0.0.1' },
    { desc: 'API_BIND_HOST opens every service', env: { API_BIND_HOST: '0.0.0.0' }, variable: 'CERT_HOST', expected: '0.0.0.0' },
    { desc: "the service's own variable wins", env: { API_BIND_HOST: '0.0.0.0', CONFIG_HOST: '10.0.0.5' }, variable: 'CONFIG_HOST', expected: '10.0.0.5' },
    { desc: "another service's variable is ignored", env: { CONFIG_HOST: '0.0.0.0' }, variable: 'CERT_HOST', expected: '127.0.0.1' },
    { desc: 'IPv6', env: { API_BIND_HOST: '::1' }, variable: undefined, expected: '::1' },
    { desc: 'localhost', env: { API_BIND_HOST: 'localhost' }, variable: undefined, expected: 'localhost' },
  ])('$desc', ({ env, variable, expected }) => {
    expect(apiBindHost(env, variable)).toBe(expected);
  });

  it('refuses a value that is not an address, naming the variable', () => {
    expect(() => apiBindHost({ API_BIND_HOST: 'every' })).toThrow('API_BIND_HOST: "every" is not an IP address');
    expect(() => apiBindHost({ CONFIG_HOST: 'example.com' }, 'CONFIG_HOST')).toThrow(/^CONFIG_HOST:/);
  });
});

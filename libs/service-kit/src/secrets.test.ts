import { eventsAmqpUrl, readServiceTokens } from './secrets.js';

describe('readServiceTokens', () => {
  it.each([
    { desc: 'both set', env: { ADMIN_TOKEN: 'a', SERVICE_TOKEN: 's' }, expected: { ok: true, tokens: { ADMIN_TOKEN: 'a', SERVICE_TOKEN: 's' } } },
    { desc: 'one set is enough', env: { SERVICE_TOKEN: ' s ' }, expected: { ok: true, tokens: { ADMIN_TOKEN: undefined, SERVICE_TOKEN: 's' } } },
    { desc: 'none set', env: {}, expected: { ok: false, message: 'set ADMIN_TOKEN or SERVICE_TOKEN (or their _FILE variants): nothing is served without a token' } },
    { desc: 'only blank values', env: { ADMIN_TOKEN: '  ' }, expected: { ok: false, message: expect.stringMatching(/nothing is served without a token/) } },
    { desc: 'an unreadable token file', env: { ADMIN_TOKEN_FILE: '/nonexistent/admin-token' }, expected: { ok: false, message: expect.stringMatching(/^cannot read a token file: .*ENOENT/) } },
  ])('$desc', ({ env, expected }) => {
    expect(readServiceTokens(['ADMIN_TOKEN', 'SERVICE_TOKEN'], env)).toEqual(expected);
  });
});

describe('eventsAmqpUrl', () => {
  it.each([
    { desc: 'the local broker by default', env: {}, url: 'amqp://guest:guest@127.0.0.1:5672' },
    { desc: 'AMQP_URL when set', env: { AMQP_URL: ' amqp://u:p@rabbit:5672 ' }, url: 'amqp://u:p@rabbit:5672' },
    { desc: '"off" runs without events', env: { AMQP_URL: 'off' }, url: undefined },
  ])('$desc', ({ env, url }) => {
    expect(eventsAmqpUrl(env)).toBe(url);
  });
});

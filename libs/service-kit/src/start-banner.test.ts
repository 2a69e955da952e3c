import { buildBanner, type BannerInput } from './start-banner.js';

const base: BannerInput = {
  gateway: {
    status: 'ready',
    reasons: [],
    portMapVersion: 3,
    listeners: [
      { protocol: 'http', ports: '8443-8443' },
      { protocol: 'ftp-control', ports: '9991-9991' },
      { protocol: 'ftp-data', ports: '4000-4008' },
    ],
  },
  settings: { version: 3, public: { address: null, bindHost: '0.0.0.0' } },
  certificate: { subject: 'CN=127.0.0.1', issuer: 'CN=127.0.0.1', chain: [], notAfter: '2028-01-01T00:00:00.000Z' },
  caFile: '/d/active-certificate.pem',
  demo: { user: 'demo', password: 'demo-password' },
  apiPorts: { config: 7001, cert: 7002, health: 7003, logs: 7004 },
  console: { url: 'https://127.0.0.1:7005/' },
  apiBindHost: '127.0.0.1',
  operatorTokenFile: '/d/secrets/operator-token',
  adminTokenFile: '/d/secrets/admin-token',
  outputDir: '/d/logs/',
};

describe('buildBanner', () => {
  it.each([
    {
      desc: 'the ports the gateway really has open (an FTPS port moved through the API)',
      input: base,
      contains: ['Secure Transfers is ready.', '  HTTPS:  https://127.0.0.1:8443/', '  FTPS:   ftps://demo:demo-password@127.0.0.1:9991/', 'curl --cacert /d/active-certificate.pem --ssl-reqd ftps://demo:demo-password@127.0.0.1:9991/'],
      lacks: ['9990'],
    },
    {
      desc: 'a certificate from an authority is not called self-signed',
      input: { ...base, certificate: { subject: 'CN=files.example.com', issuer: 'CN=Example CA', chain: ['CN=Example CA'], notAfter: '2027-01-01T00:00:00.000Z' } },
      contains: ['is issued by CN=Example CA; its chain is in /d/active-certificate.pem'],
      lacks: ['self-signed'],
    },
    { desc: 'self-signed', input: base, contains: ['The certificate is self-signed (CN=127.0.0.1'], lacks: ['issued by'] },
    { desc: 'the public address when set', input: { ...base, settings: { version: 3, public: { address: '203.0.113.7', bindHost: '0.0.0.0' } } }, contains: ['https://203.0.113.7:8443/'], lacks: ['https://127.0.0.1:8443'] },
    {
      desc: 'degraded: says why',
      input: { ...base, gateway: { ...base.gateway, status: 'degraded', reasons: ['port map version 4 not applied: port 443 may not be opened; serving version 3'] } },
      contains: ['DEGRADED: port map version 4 not applied'],
      lacks: ['is ready'],
    },
    {
      desc: 'stopped tunnel: no URLs, how to start it',
      input: { ...base, gateway: { ...base.gateway, status: 'stopped', listeners: [] } },
      contains: ['tunnel STOPPED', '{"tunnelEnabled":true}'],
      lacks: ['HTTPS:', 'FTPS:'],
    },
    {
      desc: 'an explicit FTPS port on its own line, as a URL curl takes',
      input: { ...base, gateway: { ...base.gateway, listeners: [...base.gateway.listeners, { protocol: 'ftp-control', tlsMode: 'explicit', ports: '9921-9921' }] } },
      contains: [
        '  FTPS:   ftps://demo:demo-password@127.0.0.1:9991/',
        '  FTPS (explicit): ftp://demo:demo-password@127.0.0.1:9921/  (AUTH TLS; curl --ssl-reqd)',
        'curl --cacert /d/active-certificate.pem --ssl-reqd ftp://demo:demo-password@127.0.0.1:9921/',
      ],
      lacks: [],
    },
    { desc: 'no explicit FTPS port: no such line', input: base, contains: [], lacks: ['FTPS (explicit)'] },
    { desc: 'own file server: no demo login in the URLs', input: { ...base, demo: null }, contains: ['ftps://127.0.0.1:9991/'], lacks: ['demo-password'] },
    { desc: 'APIs on loopback: how to reach them over SSH', input: base, contains: ['listen on 127.0.0.1 only', 'ssh -N -L 7001:127.0.0.1:7001'], lacks: [] },
    { desc: 'the console and how to sign in', input: base, contains: ['Console: https://127.0.0.1:7005/', 'sign in with the admin token in /d/secrets/admin-token'], lacks: [] },
    { desc: 'no console', input: { ...base, console: null }, contains: [], lacks: ['Console:'] },
    { desc: 'APIs opened: says so', input: { ...base, apiBindHost: '0.0.0.0' }, contains: ['listen on 0.0.0.0 (API_BIND_HOST), over plain HTTP'], lacks: ['ssh -N'] },
  ])('$desc', ({ input, contains, lacks }) => {
    const text = buildBanner(input);
    for (const part of contains) expect(text).toContain(part);
    for (const part of lacks) expect(text).not.toContain(part);
  });
});

import { renderVsftpdConfig, vsftpdSettings, type VsftpdConfigInput } from './vsftpd-config.js';

const base: VsftpdConfigInput = {
  host: '127.0.0.1',
  port: 2121,
  passiveRange: { from: 3000, to: 3008 },
  rootDir: '/srv/files',
  userListFile: '/w/user_list',
  pamService: 'st-demo-ftp-0123456789abcdef',
  guestAccount: 'st-ftp',
  xferLogFile: '/w/xferlog',
  vsftpdLogFile: '/w/vsftpd.log',
  secureChrootDir: '/w/empty',
  pasvPromiscuous: true,
};

function settings(input: Partial<VsftpdConfigInput>): Map<string, string> {
  const text = renderVsftpdConfig({ ...base, ...input });
  return new Map(
    text
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as [string, string]),
  );
}

describe('renderVsftpdConfig', () => {
  it.each([
    { desc: 'IPv4 host listens there and advertises it', input: {}, expected: { listen: 'YES', listen_ipv6: 'NO', listen_address: '127.0.0.1', pasv_address: '127.0.0.1' } },
    { desc: 'wildcard host advertises the local address of each connection', input: { host: '0.0.0.0' }, expected: { listen: 'YES', listen_address: undefined, pasv_address: undefined } },
    { desc: 'IPv6 host uses the IPv6 listener', input: { host: '::1' }, expected: { listen: 'NO', listen_ipv6: 'YES', listen_address6: '::1', pasv_address: undefined } },
    { desc: 'explicit passive address wins', input: { host: '0.0.0.0', pasvAddress: '10.0.0.5' }, expected: { pasv_address: '10.0.0.5' } },
    { desc: 'ports and range', input: { port: 21, passiveRange: { from: 3000, to: 3008 } }, expected: { listen_port: '21', pasv_min_port: '3000', pasv_max_port: '3008' } },
    { desc: 'strict data connections on request', input: { pasvPromiscuous: false }, expected: { pasv_promiscuous: 'NO' } },
    {
      desc: 'the fixed policy',
      input: {},
      expected: {
        background: 'NO',
        anonymous_enable: 'NO',
        local_enable: 'YES',
        pam_service_name: 'st-demo-ftp-0123456789abcdef',
        guest_enable: 'YES',
        guest_username: 'st-ftp',
        virtual_use_local_privs: 'YES',
        write_enable: 'YES',
        local_umask: '022',
        local_root: '/srv/files',
        chroot_local_user: 'NO',
        seccomp_sandbox: 'NO',
        isolate: 'NO',
        isolate_network: 'NO',
        ssl_enable: 'NO',
        userlist_enable: 'YES',
        userlist_deny: 'NO',
        dual_log_enable: 'YES',
        log_ftp_protocol: 'YES',
        xferlog_std_format: 'NO',
      },
    },
  ])('$desc', ({ input, expected }) => {
    const actual = settings(input);
    for (const [name, value] of Object.entries(expected)) expect([name, actual.get(name)]).toEqual([name, value]);
  });

  it('allows 50 sessions from one address', () => {
    const actual = settings({});
    expect(Number(actual.get('max_per_ip'))).toBeGreaterThanOrEqual(50);
    expect(Number(actual.get('max_clients'))).toBeGreaterThanOrEqual(50);
  });

  it('names every setting once', () => {
    const names = vsftpdSettings(base).map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each([
    { desc: 'port 0', input: { port: 0 }, error: /FTP port/ },
    { desc: 'reversed range', input: { passiveRange: { from: 3008, to: 3000 } }, error: /passive range/ },
    { desc: 'privileged passive ports', input: { passiveRange: { from: 20, to: 30 } }, error: /passive range/ },
    { desc: 'host name instead of an address', input: { host: 'localhost' }, error: /numeric listen address/ },
    { desc: 'line break smuggling a setting', input: { rootDir: '/srv\nanonymous_enable=YES' }, error: /line break/ },
  ])('refuses $desc', ({ input, error }) => {
    expect(() => renderVsftpdConfig({ ...base, ...input })).toThrow(error);
  });
});

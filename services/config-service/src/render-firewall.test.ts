import type { ServerSettings } from '@st/contracts';
import { destinationOf, publicPorts, renderIptables, renderNftables, renderUfw } from './render-firewall.js';
import { portMapWith, renderGeneratedAt } from './test-port-maps.js';

/** The lines that act, without comments: what nft, iptables-restore or a shell would execute. */
function ruleLines(text: string, pattern: RegExp): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => !line.startsWith('#') && pattern.test(line));
}

/** What the default settings (443, 990, 4000-4008 over 80, 21, 3000-3008) render to. */
const defaultRules = {
  ports: ['https tcp 0.0.0.0 443-443 HTTPS (web file manager) -> 127.0.0.1:80-80', 'ftps-control tcp 0.0.0.0 990-990 implicit FTPS control -> 127.0.0.1:21-21', 'ftps-data tcp 0.0.0.0 4000-4008 FTPS passive data -> 127.0.0.1:3000-3008'],
  nft: ['tcp dport 443 accept comment "secure-transfers https"', 'tcp dport 990 accept comment "secure-transfers ftps-control"', 'tcp dport 4000-4008 accept comment "secure-transfers ftps-data"'],
  iptables: [
    '-A SECURE-TRANSFERS -p tcp -m tcp --dport 443 -m comment --comment "secure-transfers https" -j ACCEPT',
    '-A SECURE-TRANSFERS -p tcp -m tcp --dport 990 -m comment --comment "secure-transfers ftps-control" -j ACCEPT',
    '-A SECURE-TRANSFERS -p tcp -m tcp --dport 4000:4008 -m comment --comment "secure-transfers ftps-data" -j ACCEPT',
  ],
  ip6tables: [
    '-A SECURE-TRANSFERS -p tcp -m tcp --dport 443 -m comment --comment "secure-transfers https" -j ACCEPT',
    '-A SECURE-TRANSFERS -p tcp -m tcp --dport 990 -m comment --comment "secure-transfers ftps-control" -j ACCEPT',
    '-A SECURE-TRANSFERS -p tcp -m tcp --dport 4000:4008 -m comment --comment "secure-transfers ftps-data" -j ACCEPT',
  ],
  ufw: [
    "ufw allow proto tcp to any port 443 comment 'secure-transfers https'",
    "ufw allow proto tcp to any port 990 comment 'secure-transfers ftps-control'",
    "ufw allow proto tcp to any port 4000:4008 comment 'secure-transfers ftps-data'",
  ],
};

describe('firewall renderings', () => {
  it.each<{
    desc: string;
    change: (s: ServerSettings) => void;
    ports: string[];
    nft: string[];
    iptables: string[];
    ip6tables: string[];
    ufw: string[];
    mentions?: string[];
  }>([
    {
      desc: 'offset example: 443, 990, 4000-4008',
      change: () => {},
      ...defaultRules,
      mentions: ['port map version 7', renderGeneratedAt, 'policy accept'],
    },
    {
      desc: 'web disabled: no 443',
      change: (s) => void (s.upstream.web.enabled = false),
      ports: ['ftps-control tcp 0.0.0.0 990-990 implicit FTPS control -> 127.0.0.1:21-21', 'ftps-data tcp 0.0.0.0 4000-4008 FTPS passive data -> 127.0.0.1:3000-3008'],
      nft: ['tcp dport 990 accept comment "secure-transfers ftps-control"', 'tcp dport 4000-4008 accept comment "secure-transfers ftps-data"'],
      iptables: [
        '-A SECURE-TRANSFERS -p tcp -m tcp --dport 990 -m comment --comment "secure-transfers ftps-control" -j ACCEPT',
        '-A SECURE-TRANSFERS -p tcp -m tcp --dport 4000:4008 -m comment --comment "secure-transfers ftps-data" -j ACCEPT',
      ],
      ip6tables: [
        '-A SECURE-TRANSFERS -p tcp -m tcp --dport 990 -m comment --comment "secure-transfers ftps-control" -j ACCEPT',
        '-A SECURE-TRANSFERS -p tcp -m tcp --dport 4000:4008 -m comment --comment "secure-transfers ftps-data" -j ACCEPT',
      ],
      ufw: ["ufw allow proto tcp to any port 990 comment 'secure-transfers ftps-control'", "ufw allow proto tcp to any port 4000:4008 comment 'secure-transfers ftps-data'"],
    },
    {
      desc: 'FTP disabled: 443 only',
      change: (s) => void (s.upstream.ftp.enabled = false),
      ports: ['https tcp 0.0.0.0 443-443 HTTPS (web file manager) -> 127.0.0.1:80-80'],
      nft: ['tcp dport 443 accept comment "secure-transfers https"'],
      iptables: ['-A SECURE-TRANSFERS -p tcp -m tcp --dport 443 -m comment --comment "secure-transfers https" -j ACCEPT'],
      ip6tables: ['-A SECURE-TRANSFERS -p tcp -m tcp --dport 443 -m comment --comment "secure-transfers https" -j ACCEPT'],
      ufw: ["ufw allow proto tcp to any port 443 comment 'secure-transfers https'"],
    },
    {
      desc: 'pool mode: the whole public pool is opened',
      change: (s) => {
        s.upstream.web.enabled = false;
        s.public.passiveRange = { from: 5000, to: 5099 };
      },
      ports: ['ftps-control tcp 0.0.0.0 990-990 implicit FTPS control -> 127.0.0.1:21-21', 'ftps-data tcp 0.0.0.0 5000-5099 FTPS passive data -> 127.0.0.1:3000-3008'],
      nft: ['tcp dport 990 accept comment "secure-transfers ftps-control"', 'tcp dport 5000-5099 accept comment "secure-transfers ftps-data"'],
      iptables: [
        '-A SECURE-TRANSFERS -p tcp -m tcp --dport 990 -m comment --comment "secure-transfers ftps-control" -j ACCEPT',
        '-A SECURE-TRANSFERS -p tcp -m tcp --dport 5000:5099 -m comment --comment "secure-transfers ftps-data" -j ACCEPT',
      ],
      ip6tables: [
        '-A SECURE-TRANSFERS -p tcp -m tcp --dport 990 -m comment --comment "secure-transfers ftps-control" -j ACCEPT',
        '-A SECURE-TRANSFERS -p tcp -m tcp --dport 5000:5099 -m comment --comment "secure-transfers ftps-data" -j ACCEPT',
      ],
      ufw: ["ufw allow proto tcp to any port 990 comment 'secure-transfers ftps-control'", "ufw allow proto tcp to any port 5000:5099 comment 'secure-transfers ftps-data'"],
    },
    {
      desc: 'IPv6 bind: restricted to the address, only in the ip6tables file',
      change: (s) => {
        s.public.bindHost = '2001:db8::10';
        s.upstream.ftp.enabled = false;
      },
      ports: ['https tcp 2001:db8::10 443-443 HTTPS (web file manager) -> 127.0.0.1:80-80'],
      nft: ['ip6 daddr 2001:db8::10 tcp dport 443 accept comment "secure-transfers https"'],
      iptables: [],
      ip6tables: ['-A SECURE-TRANSFERS -d 2001:db8::10/128 -p tcp -m tcp --dport 443 -m comment --comment "secure-transfers https" -j ACCEPT'],
      ufw: ["ufw allow proto tcp to 2001:db8::10 port 443 comment 'secure-transfers https'"],
      mentions: ['1 listener(s) bound to an IPv6 address are in the ip6tables rendering'],
    },
    {
      desc: 'IPv4 bind and a single-port passive range',
      change: (s) => {
        s.public.bindHost = '192.0.2.10';
        s.upstream.web.enabled = false;
        s.upstream.ftp.passiveRange = { from: 3000, to: 3000 };
      },
      ports: ['ftps-control tcp 192.0.2.10 990-990 implicit FTPS control -> 127.0.0.1:21-21', 'ftps-data tcp 192.0.2.10 4000-4000 FTPS passive data -> 127.0.0.1:3000-3000'],
      nft: ['ip daddr 192.0.2.10 tcp dport 990 accept comment "secure-transfers ftps-control"', 'ip daddr 192.0.2.10 tcp dport 4000 accept comment "secure-transfers ftps-data"'],
      iptables: [
        '-A SECURE-TRANSFERS -d 192.0.2.10/32 -p tcp -m tcp --dport 990 -m comment --comment "secure-transfers ftps-control" -j ACCEPT',
        '-A SECURE-TRANSFERS -d 192.0.2.10/32 -p tcp -m tcp --dport 4000 -m comment --comment "secure-transfers ftps-data" -j ACCEPT',
      ],
      ip6tables: [],
      ufw: ["ufw allow proto tcp to 192.0.2.10 port 990 comment 'secure-transfers ftps-control'", "ufw allow proto tcp to 192.0.2.10 port 4000 comment 'secure-transfers ftps-data'"],
    },
    {
      desc: 'tunnel disabled: no ports, and every output says so',
      change: (s) => void (s.tunnelEnabled = false),
      ports: [],
      nft: [],
      iptables: [],
      ip6tables: [],
      ufw: [],
      mentions: ['the tunnel is disabled: no port to open'],
    },
    {
      desc: 'minimum TLS 1.3 changes no port',
      change: (s) => void (s.tls.minVersion = 'TLSv1.3'),
      ...defaultRules,
    },
  ])('$desc', ({ change, ports, nft, iptables, ip6tables, ufw, mentions }) => {
    const portMap = portMapWith(change);
    expect(publicPorts(portMap).map((p) => `${p.listenerId} ${p.protocol} ${p.bindHost} ${p.ports.from}-${p.ports.to} ${p.purpose} -> ${p.upstream.host}:${p.upstream.ports.from}-${p.upstream.ports.to}`)).toEqual(ports);

    const nftText = renderNftables(portMap);
    expect(ruleLines(nftText, /^(ip6? daddr \S+ )?tcp dport/)).toEqual(nft);
    // Re-applying replaces the table; the chain never drops.
    expect(ruleLines(nftText, /^(table|delete table) inet secure_transfers$/)).toEqual(['table inet secure_transfers', 'delete table inet secure_transfers']);
    expect(ruleLines(nftText, /drop|reject/i)).toEqual([]);

    const ipv4 = renderIptables(portMap, 'ipv4');
    const ipv6 = renderIptables(portMap, 'ipv6');
    expect(ruleLines(ipv4, /^-A /)).toEqual(iptables);
    expect(ruleLines(ipv6, /^-A /)).toEqual(ip6tables);
    for (const text of [ipv4, ipv6]) {
      expect(ruleLines(text, /^[*:]|^COMMIT$/)).toEqual(['*filter', ':SECURE-TRANSFERS - [0:0]', 'COMMIT']);
      expect(ruleLines(text, /DROP|REJECT|^:INPUT/)).toEqual([]);
    }

    const ufwText = renderUfw(portMap);
    expect(ruleLines(ufwText, /^ufw /)).toEqual(ufw);
    expect(ruleLines(ufwText, /./)).toEqual(ufw);

    for (const mention of mentions ?? []) expect(nftText + ipv4 + ipv6 + ufwText).toContain(mention);
    if (ports.length === 0) for (const text of [nftText, ipv4, ipv6, ufwText]) expect(text).toContain('no port to open');
  });

  it.each([
    {
      desc: 'a moved FTPS port: its old rule is deleted before the new one is added',
      before: () => {},
      after: (s: ServerSettings) => void (s.public.ftpsPort = 9991),
      ufw: [
        "ufw delete allow proto tcp to any port 990 comment 'secure-transfers ftps-control'",
        "ufw allow proto tcp to any port 443 comment 'secure-transfers https'",
        "ufw allow proto tcp to any port 9991 comment 'secure-transfers ftps-control'",
        "ufw allow proto tcp to any port 4000:4008 comment 'secure-transfers ftps-data'",
      ],
    },
    {
      desc: 'a moved passive range: the old range goes, the kept ports stay',
      before: () => {},
      after: (s: ServerSettings) => void (s.public.passiveRange = { from: 5000, to: 5008 }),
      ufw: [
        "ufw delete allow proto tcp to any port 4000:4008 comment 'secure-transfers ftps-data'",
        "ufw allow proto tcp to any port 443 comment 'secure-transfers https'",
        "ufw allow proto tcp to any port 990 comment 'secure-transfers ftps-control'",
        "ufw allow proto tcp to any port 5000:5008 comment 'secure-transfers ftps-data'",
      ],
    },
    {
      desc: 'the tunnel stopped: every earlier rule is deleted',
      before: () => {},
      after: (s: ServerSettings) => void (s.tunnelEnabled = false),
      ufw: [
        "ufw delete allow proto tcp to any port 443 comment 'secure-transfers https'",
        "ufw delete allow proto tcp to any port 990 comment 'secure-transfers ftps-control'",
        "ufw delete allow proto tcp to any port 4000:4008 comment 'secure-transfers ftps-data'",
      ],
    },
    {
      desc: 'nothing moved: no delete',
      before: () => {},
      after: (s: ServerSettings) => void (s.tls.minVersion = 'TLSv1.3'),
      ufw: [
        "ufw allow proto tcp to any port 443 comment 'secure-transfers https'",
        "ufw allow proto tcp to any port 990 comment 'secure-transfers ftps-control'",
        "ufw allow proto tcp to any port 4000:4008 comment 'secure-transfers ftps-data'",
      ],
    },
  ])('ufw after a change: $desc', ({ before, after, ufw }) => {
    const earlier = [...publicPorts(portMapWith(before, 6)), ...publicPorts(portMapWith(before, 5))];
    expect(ruleLines(renderUfw(portMapWith(after), earlier), /^ufw /)).toEqual(ufw);
  });

  it('every rendering says the API and health ports are left out on purpose', () => {
    const portMap = portMapWith();
    for (const text of [renderNftables(portMap), renderIptables(portMap), renderIptables(portMap, 'ipv6'), renderUfw(portMap)]) {
      expect(text).toMatch(/^# Not here on purpose: the service APIs, the console and the gateway's health port \(7001-7005 by default\)/m);
    }
  });

  it('web and FTP both disabled: no ports, and the outputs say why', () => {
    const portMap = portMapWith((s) => {
      s.upstream.web.enabled = false;
      s.upstream.ftp.enabled = false;
    });
    expect(publicPorts(portMap)).toEqual([]);
    for (const text of [renderNftables(portMap), renderIptables(portMap), renderUfw(portMap)]) expect(text).toContain('web and FTP both disabled');
  });

  it.each([
    { desc: 'IPv4 wildcard', host: '0.0.0.0', destination: { kind: 'any' } },
    { desc: 'IPv6 wildcard', host: '::', destination: { kind: 'any' } },
    { desc: 'IPv4 address', host: '203.0.113.5', destination: { kind: 'address', family: 'ipv4', address: '203.0.113.5' } },
    { desc: 'IPv6 address', host: '::1', destination: { kind: 'address', family: 'ipv6', address: '::1' } },
    { desc: 'host name: not restricted', host: 'gateway.example', destination: { kind: 'hostname', name: 'gateway.example' } },
  ])('destinationOf: $desc', ({ host, destination }) => {
    expect(destinationOf(host)).toEqual(destination);
  });

  it('a host-name bind is opened on every address, with a note why', () => {
    const portMap = portMapWith((s) => {
      s.public.bindHost = 'localhost';
      s.upstream.ftp.enabled = false;
    });
    expect(ruleLines(renderNftables(portMap), /^tcp dport/)).toEqual(['tcp dport 443 accept comment "secure-transfers https"']);
    expect(renderNftables(portMap)).toContain('bound to host name localhost: not restricted by address');
  });

  it('listener ids and hosts cannot break out of comments or quotes', () => {
    const portMap = portMapWith();
    const hostile = { ...portMap, generatedAt: 'x\ntable ip evil {}', listeners: portMap.listeners.map((l) => ({ ...l, id: `${l.id}" drop #`, upstream: { ...l.upstream, host: 'h\n-A INPUT -j DROP' } })) };
    const nftText = renderNftables(hostile);
    expect(nftText).not.toMatch(/^table ip evil/m);
    expect(nftText).toContain('comment "secure-transfers https__drop__"');
    expect(renderIptables(hostile)).not.toMatch(/^-A INPUT/m);
  });
});

import type { ServerSettings } from '@st/contracts';
import {
  disabledPrefix,
  renderStunnelConfig,
  stunnelAddress,
  stunnelSeconds,
  stunnelTls12Ciphers,
  stunnelTls13Ciphersuites,
  type StunnelWarningCode,
} from './render-stunnel.js';
import { portMapWith, renderGeneratedAt as generatedAt } from './test-port-maps.js';

interface ParsedStunnel {
  global: Record<string, string>;
  sections: { name: string; options: Record<string, string> }[];
}

/** Reads a configuration the way stunnel does: ';' lines are comments, [name] starts a service. */
function parseStunnel(text: string): ParsedStunnel {
  const parsed: ParsedStunnel = { global: {}, sections: [] };
  let options = parsed.global;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      options = {};
      parsed.sections.push({ name: section[1]!, options });
      continue;
    }
    const option = /^(\S+)\s*=\s*(.*)$/.exec(line);
    if (!option) throw new Error(`not a stunnel line: ${JSON.stringify(raw)}`);
    options[option[1]!] = option[2]!;
  }
  return parsed;
}

function sectionSummary(parsed: ParsedStunnel): string[] {
  return parsed.sections.map((s) => `[${s.name}] ${s.options.accept} -> ${s.options.connect} idle ${s.options.TIMEOUTidle}`);
}

describe('renderStunnelConfig', () => {
  it.each<{
    desc: string;
    change: (s: ServerSettings) => void;
    sections: string[];
    warnings: StunnelWarningCode[];
    global?: Record<string, string>;
    mentions?: string[];
  }>([
    {
      desc: 'offset example: 443, 990 and one section per passive port 4000-4008',
      change: () => {},
      sections: [
        '[https] 0.0.0.0:443 -> 127.0.0.1:80 idle 300',
        '[ftps] 0.0.0.0:990 -> 127.0.0.1:21 idle 300',
        ...Array.from({ length: 9 }, (_, i) => `[ftps-data-${4000 + i}] 0.0.0.0:${4000 + i} -> 127.0.0.1:${3000 + i} idle 120`),
      ],
      warnings: ['passive-announcement', 'passive-client-ip'],
      global: { sslVersionMin: 'TLSv1.2', TIMEOUTbusy: '10', cert: '/etc/stunnel/stunnel.cert', key: '/etc/stunnel/stunnel.cert.key' },
      mentions: ['port map version 7', generatedAt, '227/229', 'PROT', 'public passive ports 4000-4008', 'offset 1000'],
    },
    {
      desc: 'web disabled: no [https] section, and the file says why',
      change: (s) => void (s.upstream.web.enabled = false),
      sections: [
        '[ftps] 0.0.0.0:990 -> 127.0.0.1:21 idle 300',
        ...Array.from({ length: 9 }, (_, i) => `[ftps-data-${4000 + i}] 0.0.0.0:${4000 + i} -> 127.0.0.1:${3000 + i} idle 120`),
      ],
      warnings: ['passive-announcement', 'passive-client-ip'],
      mentions: ['Web is disabled'],
    },
    {
      desc: 'FTP disabled: only [https], no FTP caveats',
      change: (s) => void (s.upstream.ftp.enabled = false),
      sections: ['[https] 0.0.0.0:443 -> 127.0.0.1:80 idle 300'],
      warnings: [],
      mentions: ['FTP is disabled'],
    },
    {
      desc: 'pool mode: no passive data section, a warning in the result and in the file',
      change: (s) => void (s.public.passiveRange = { from: 5000, to: 5099 }),
      sections: ['[https] 0.0.0.0:443 -> 127.0.0.1:80 idle 300', '[ftps] 0.0.0.0:990 -> 127.0.0.1:21 idle 300'],
      warnings: ['passive-pool'],
      mentions: ['WARNING (passive-pool)', 'NOT RENDERED', '5000-5099'],
    },
    {
      desc: 'IPv6 bind and upstream: bare literals, split by stunnel at the last colon',
      change: (s) => {
        s.public.bindHost = '2001:db8::10';
        s.upstream.host = '::1';
        s.upstream.ftp.enabled = false;
      },
      sections: ['[https] 2001:db8::10:443 -> ::1:80 idle 300'],
      warnings: [],
    },
    {
      desc: 'single-port passive range: one data section',
      change: (s) => {
        s.upstream.ftp.passiveRange = { from: 3000, to: 3000 };
        s.upstream.web.enabled = false;
      },
      sections: ['[ftps] 0.0.0.0:990 -> 127.0.0.1:21 idle 300', '[ftps-data-4000] 0.0.0.0:4000 -> 127.0.0.1:3000 idle 120'],
      warnings: ['passive-announcement', 'passive-client-ip'],
      mentions: ['public 4000 -> upstream 3000 (offset 1000)', 'port 1 of 1'],
    },
    {
      desc: 'tunnel disabled: every section commented out, so stunnel opens nothing',
      change: (s) => void (s.tunnelEnabled = false),
      sections: [],
      warnings: ['passive-announcement', 'passive-client-ip', 'tunnel-disabled'],
      mentions: ['The tunnel is disabled', `${disabledPrefix}[https]`, `${disabledPrefix}accept = 0.0.0.0:990`],
    },
    {
      desc: 'minimum TLS 1.3, other timeouts, session reuse required',
      change: (s) => {
        s.tls = { minVersion: 'TLSv1.3', allowClearData: false, requireSessionReuse: true };
        s.timeouts = { ...s.timeouts, handshakeMs: 2500, controlIdleMs: 60_000, dataIdleMs: 30_001 };
        s.upstream.ftp.passiveRange = { from: 3000, to: 3001 };
      },
      sections: [
        '[https] 0.0.0.0:443 -> 127.0.0.1:80 idle 60',
        '[ftps] 0.0.0.0:990 -> 127.0.0.1:21 idle 60',
        '[ftps-data-4000] 0.0.0.0:4000 -> 127.0.0.1:3000 idle 31',
        '[ftps-data-4001] 0.0.0.0:4001 -> 127.0.0.1:3001 idle 31',
      ],
      warnings: ['passive-announcement', 'passive-client-ip', 'session-reuse'],
      global: { sslVersionMin: 'TLSv1.3', TIMEOUTbusy: '3' },
    },
  ])('$desc', ({ change, sections, warnings, global, mentions }) => {
    const { text, warnings: rendered } = renderStunnelConfig(portMapWith(change));
    const parsed = parseStunnel(text);
    expect(sectionSummary(parsed)).toEqual(sections);
    expect(rendered.map((w) => w.code).sort()).toEqual([...warnings].sort());
    for (const warning of rendered) expect(text).toContain(`; WARNING (${warning.code}): ${warning.message}`);
    expect(parsed.global).toMatchObject(global ?? {});
    for (const mention of mentions ?? []) expect(text).toContain(mention);
    // Every section carries the same TLS settings: they come from the global defaults only.
    for (const section of parsed.sections) expect(Object.keys(section.options).sort()).toEqual(['TIMEOUTidle', 'accept', 'connect']);
  });

  it('a disabled tunnel, with the prefix removed, is exactly the enabled rendering but for the notes', () => {
    const enabled = parseStunnel(renderStunnelConfig(portMapWith()).text);
    const disabledText = renderStunnelConfig(portMapWith((s) => void (s.tunnelEnabled = false))).text;
    const uncommented = parseStunnel(disabledText.split('\n').map((line) => (line.startsWith(disabledPrefix) ? line.slice(disabledPrefix.length) : line)).join('\n'));
    expect(uncommented).toEqual(enabled);
  });

  it('no listener at all (web and FTP disabled) says so', () => {
    const { text } = renderStunnelConfig(portMapWith((s) => {
      s.upstream.web.enabled = false;
      s.upstream.ftp.enabled = false;
    }));
    expect(parseStunnel(text).sections).toEqual([]);
    expect(text).toContain('No listener in this port map');
  });

  it('renders the given certificate paths and process options', () => {
    const { text } = renderStunnelConfig(portMapWith(), { certFile: '/srv/tls/stunnel.cert', keyFile: '/srv/tls/stunnel.cert.key', foreground: true, pidFile: '', syslog: false });
    expect(parseStunnel(text).global).toMatchObject({ cert: '/srv/tls/stunnel.cert', key: '/srv/tls/stunnel.cert.key', foreground: 'yes', pid: '', syslog: 'no' });
  });

  it('keeps comments on one line and refuses values that would break the file', () => {
    const portMap = portMapWith();
    const text = renderStunnelConfig({ ...portMap, generatedAt: 'x\n[evil]\naccept = 1' }).text;
    expect(parseStunnel(text).sections.map((s) => s.name)).not.toContain('evil');
    expect(() => renderStunnelConfig(portMap, { certFile: '/a\n[evil]' })).toThrow(/certFile/);
    const badHost = { ...portMap, listeners: portMap.listeners.map((l) => ({ ...l, bindHost: '0.0.0.0 ; x' })) };
    expect(() => renderStunnelConfig(badHost)).toThrow(/host/);
  });

  it.each([
    { desc: 'IPv4', host: '127.0.0.1', port: 443, address: '127.0.0.1:443' },
    { desc: 'IPv6 wildcard, as in the stunnel manual', host: '::', port: 443, address: ':::443' },
    { desc: 'host name', host: 'files.internal', port: 21, address: 'files.internal:21' },
  ])('stunnelAddress: $desc', ({ host, port, address }) => {
    expect(stunnelAddress(host, port)).toBe(address);
  });

  it.each([
    { desc: 'whole seconds stay', ms: 10_000, seconds: 10 },
    { desc: 'a fraction rounds up, never shorter than the gateway', ms: 1001, seconds: 2 },
    { desc: 'at least one second', ms: 100, seconds: 1 },
  ])('stunnelSeconds: $desc', ({ ms, seconds }) => {
    expect(stunnelSeconds(ms)).toBe(seconds);
  });
});

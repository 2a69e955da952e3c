import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerSettings } from '@st/contracts';
import { publicPorts, renderIptables, renderNftables, renderUfw } from './render-firewall.js';
import { portMapWith } from './test-port-maps.js';
import { commandPath } from './test-tools.js';

/**
 * The rendered firewall files, unmodified, fed to the real tools:
 * `nft -c -f` (which also asks the kernel to check the batch, so it needs
 * CAP_NET_ADMIN), `iptables-restore --test --noflush`, `ufw --dry-run`, and
 * a real apply, twice, inside a fresh network namespace (`unshare --net`), so
 * the host's firewall is never touched. scripts/bootstrap.sh installs the tools.
 */

function run(command: string, args: string[], input?: string) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
}

for (const tool of ['nft', 'iptables-restore', 'ip6tables-restore', 'ufw', 'unshare']) {
  if (!commandPath(tool)) throw new Error(`${tool} is not installed: run scripts/bootstrap.sh (it installs nftables, iptables and ufw)`);
}

// A network namespace needs CAP_SYS_ADMIN; where it is missing, only the apply tests are skipped, and say why.
const namespaceProbe = run('unshare', ['--net', 'true']);
const namespaceSkipReason = namespaceProbe.status === 0 ? null : `unshare --net failed (${namespaceProbe.output.trim()}): cannot apply rules in a private network namespace`;
if (namespaceSkipReason) console.warn(`render-firewall.tools: skipping the apply tests: ${namespaceSkipReason}`);
const itInNamespace = namespaceSkipReason ? it.skip : it;

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'render-firewall-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const scenarios: { desc: string; change: (s: ServerSettings) => void }[] = [
  { desc: 'offset example 443, 990, 4000-4008', change: () => {} },
  { desc: 'pool mode 5000-5099', change: (s) => void (s.public.passiveRange = { from: 5000, to: 5099 }) },
  { desc: 'IPv6 bind address', change: (s) => void (s.public.bindHost = '2001:db8::10') },
  {
    desc: 'IPv4 bind address, single-port passive range',
    change: (s) => {
      s.public.bindHost = '192.0.2.10';
      s.upstream.ftp.passiveRange = { from: 3000, to: 3000 };
    },
  },
  { desc: 'tunnel disabled', change: (s) => void (s.tunnelEnabled = false) },
  {
    desc: 'web and FTP disabled',
    change: (s) => {
      s.upstream.web.enabled = false;
      s.upstream.ftp.enabled = false;
    },
  },
];

describe('rendered firewall rules with the real tools', () => {
  it('each check rejects a broken rule (none is a no-op)', () => {
    const broken = renderNftables(portMapWith()).replace('tcp dport 990 accept comment', 'tcp dport 99999 accept comment');
    expect(run('nft', ['-c', '-f', write('broken.nft', broken)]).status).not.toBe(0);
    expect(run('iptables-restore', ['--test', '--noflush'], renderIptables(portMapWith()).replace('--dport 990', '--dport 99999')).status).not.toBe(0);
    expect(run('ufw', ['--dry-run', 'allow', 'proto', 'tcp', 'to', 'any', 'port', '99999']).status).not.toBe(0);
  });

  itInNamespace('ufw: after a moved port, running the rendered commands leaves only the new ports (on a private copy of /etc/ufw)', () => {
    const before = portMapWith(() => {}, 6);
    const after = portMapWith((s) => void (s.public.ftpsPort = 9991), 7);
    const commands = (text: string) => text.split('\n').filter((line) => line.startsWith('ufw '));
    const copy = join(dir, 'etc-ufw');
    const script = [
      'set -e',
      `cp -a /etc/ufw ${copy}`,
      `mount --bind ${copy} /etc/ufw`,
      ...commands(renderUfw(before)),
      ...commands(renderUfw(after, publicPorts(before))),
      // Applying the same rendering again changes nothing.
      ...commands(renderUfw(after, publicPorts(before))),
      'echo "== added"',
      'ufw show added',
    ].join('\n');
    const applied = run('unshare', ['--mount', '--net', 'sh', '-c', script]);
    expect(applied.status).toBe(0);
    const added = (applied.output.split(/^== added\n/m)[1] ?? '').split('\n').filter((line) => line.startsWith('ufw '));
    expect(added.filter((line) => line.includes('secure-transfers')).sort()).toEqual(
      ["ufw allow 443/tcp comment 'secure-transfers https'", "ufw allow 4000:4008/tcp comment 'secure-transfers ftps-data'", "ufw allow 9991/tcp comment 'secure-transfers ftps-control'"].sort(),
    );
  });

  describe.each(scenarios)('$desc', ({ change }) => {
    const portMap = portMapWith(change);

    it('nftables: nft -c -f accepts the file', () => {
      const checked = run('nft', ['-c', '-f', write('rules.nft', renderNftables(portMap))]);
      expect({ status: checked.status, output: checked.output }).toEqual({ status: 0, output: '' });
    });

    it.each(['ipv4', 'ipv6'] as const)('iptables %s: restore --test --noflush accepts the file', (family) => {
      const command = family === 'ipv4' ? 'iptables-restore' : 'ip6tables-restore';
      const checked = run(command, ['--test', '--noflush'], renderIptables(portMap, family));
      expect({ status: checked.status, output: checked.output }).toEqual({ status: 0, output: '' });
    });

    it('ufw: every command passes ufw --dry-run', () => {
      const commands = renderUfw(portMap)
        .split('\n')
        .filter((line) => line.startsWith('ufw '));
      for (const command of commands) {
        // The rendered comments are single words inside single quotes; the shell would strip those quotes.
        const args = command.slice('ufw '.length).match(/'[^']*'|\S+/g)!.map((arg) => arg.replace(/^'(.*)'$/, '$1'));
        const checked = run('ufw', ['--dry-run', ...args]);
        expect({ command, status: checked.status }).toEqual({ command, status: 0 });
      }
    });

    itInNamespace('applied twice in a private network namespace: the same rules, not a second copy', () => {
      const nftFile = write('apply.nft', renderNftables(portMap));
      const ipv4File = write('apply.v4', renderIptables(portMap, 'ipv4'));
      const ipv6File = write('apply.v6', renderIptables(portMap, 'ipv6'));
      const script = [
        'set -e',
        `nft -f ${nftFile}`,
        `nft -f ${nftFile}`,
        'echo "== nft"',
        'nft list ruleset',
        `iptables-restore --noflush < ${ipv4File}`,
        `iptables-restore --noflush < ${ipv4File}`,
        'echo "== iptables"',
        'iptables -S SECURE-TRANSFERS',
        `ip6tables-restore --noflush < ${ipv6File}`,
        `ip6tables-restore --noflush < ${ipv6File}`,
        'echo "== ip6tables"',
        'ip6tables -S SECURE-TRANSFERS',
      ].join('\n');
      const applied = run('unshare', ['--net', 'sh', '-c', script]);
      expect({ status: applied.status, output: applied.output }).toMatchObject({ status: 0 });
      const [, nftListing = '', ipv4Listing = '', ipv6Listing = ''] = applied.output.split(/^== \S+\n/m);
      const acceptRules = (listing: string, pattern: RegExp) => listing.split('\n').filter((line) => pattern.test(line)).length;
      const listeners = portMap.tunnelEnabled ? portMap.listeners : [];
      const ipv6Bound = listeners.filter((l) => l.bindHost.includes(':') && l.bindHost !== '::').length;
      const ipv4Bound = listeners.filter((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l.bindHost) && l.bindHost !== '0.0.0.0').length;
      expect(acceptRules(nftListing, /tcp dport .* accept/)).toBe(listeners.length);
      expect(nftListing.match(/table inet secure_transfers/g)?.length ?? 0).toBe(listeners.length > 0 ? 1 : 0);
      expect(nftListing).not.toMatch(/policy drop/);
      expect(acceptRules(ipv4Listing, /-j ACCEPT/)).toBe(listeners.length - ipv6Bound);
      expect(acceptRules(ipv6Listing, /-j ACCEPT/)).toBe(listeners.length - ipv4Bound);
    });
  });
});

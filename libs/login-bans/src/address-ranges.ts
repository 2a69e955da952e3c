import { BlockList, isIP } from 'node:net';

/** One allow-list entry: an address (a range of one) or an address with a prefix length. */
export interface AddressRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export type ParsedRange = { ok: true; range: AddressRange } | { ok: false; message: string };

/** "192.0.2.7", "10.0.0.0/8", "2001:db8::1", "2001:db8::/32"; anything else says why not. */
export function parseAddressRange(entry: string): ParsedRange {
  const text = entry.trim();
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return { ok: false, message: `"${entry}" is not an IP address or a range such as 10.0.0.0/8` };
  const bits = version === 4 ? 32 : 128;
  if (slash === -1) return { ok: true, range: { address, prefix: bits, family: version === 4 ? 'ipv4' : 'ipv6' } };
  const prefixText = text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) return { ok: false, message: `"${entry}": the prefix length after "/" must be a whole number from 0 to ${bits}` };
  return { ok: true, range: { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' } };
}

/**
 * The address a client is known by: an IPv4 client on a dual-stack socket
 * arrives as ::ffff:192.0.2.7 and is the same client as 192.0.2.7.
 */
export function clientAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address.toLowerCase();
}

/** Whether an address is in a list of ranges (entries that do not parse were refused when the settings were saved and are skipped). */
export class AddressList {
  private readonly blocks = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    let size = 0;
    for (const entry of entries) {
      const parsed = parseAddressRange(entry);
      if (!parsed.ok) continue;
      this.blocks.addSubnet(parsed.range.address, parsed.range.prefix, parsed.range.family);
      size++;
    }
    this.size = size;
  }

  has(address: string): boolean {
    if (this.size === 0) return false;
    const plain = clientAddress(address);
    const version = isIP(plain);
    if (version === 0) return false;
    return this.blocks.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  }
}

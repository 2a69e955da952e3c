import { readdir, readFile, readlink } from 'node:fs/promises';

/** A listening TCP socket as the kernel lists it in /proc/net/tcp or tcp6. */
export interface ListeningSocket {
  address: string;
  port: number;
  inode: number;
}

/** A process that holds a socket, as far as /proc lets us see it. */
export interface PortHolder {
  pid: number;
  command: string;
}

const listenState = '0A';

/** /proc/net/tcp writes each 32-bit word of an address in host byte order (little-endian here). */
function wordBytes(hex: string): number[] {
  const value = Number.parseInt(hex, 16);
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

function decodeAddress(hex: string): string | undefined {
  if (/^[0-9A-Fa-f]{8}$/.test(hex)) return wordBytes(hex).join('.');
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) return undefined;
  const bytes = [0, 8, 16, 24].flatMap((offset) => wordBytes(hex.slice(offset, offset + 8)));
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // "::ffff:a.b.c.d" and "::" are what operators recognise; the rest stays uncompressed but valid.
  if (groups.slice(0, 5).every((group) => group === '0') && groups[5] === 'ffff') return `::ffff:${bytes.slice(12).join('.')}`;
  if (groups.every((group) => group === '0')) return '::';
  return groups.join(':');
}

/** The listening sockets in the text of /proc/net/tcp or /proc/net/tcp6; other states and unreadable lines are skipped. */
export function parseProcNetTcp(text: string): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || fields[3] !== listenState) continue;
    const [addressHex, portHex] = (fields[1] ?? '').split(':');
    const address = decodeAddress(addressHex ?? '');
    const port = Number.parseInt(portHex ?? '', 16);
    const inode = Number(fields[9]);
    if (address === undefined || !Number.isInteger(port) || !Number.isInteger(inode)) continue;
    sockets.push({ address, port, inode });
  }
  return sockets;
}

async function listening(): Promise<ListeningSocket[]> {
  const texts = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((path) => readFile(path, 'utf8').catch(() => '')));
  return texts.flatMap(parseProcNetTcp);
}

async function commandOf(pid: number): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const command = raw.split('\0').filter(Boolean).join(' ');
  return command.length > 200 ? `${command.slice(0, 200)}…` : command || '(unknown command)';
}

/**
 * Who listens on a TCP port: the sockets, and the processes holding them
 * where /proc shows it (all of them for root, one's own otherwise). Linux only;
 * elsewhere, or without permission, the holders are simply unknown.
 */
export async function findPortHolders(port: number): Promise<{ sockets: ListeningSocket[]; holders: PortHolder[] }> {
  const sockets = (await listening()).filter((socket) => socket.port === port);
  if (sockets.length === 0) return { sockets, holders: [] };
  const wanted = new Set(sockets.map((socket) => `socket:[${socket.inode}]`));
  const holders: PortHolder[] = [];
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name)).map(Number);
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (!wanted.has(target)) continue;
      holders.push({ pid, command: await commandOf(pid) });
      break;
    }
  }
  return { sockets, holders };
}

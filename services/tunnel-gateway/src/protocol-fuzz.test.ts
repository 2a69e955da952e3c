/**
 * Properties of the parsers and rewriters that read what clients and file
 * servers send, checked with fast-check over generated input. In the test
 * suite each property runs FUZZ_RUNS times (200 by default); `pnpm fuzz` runs
 * them for over a million inputs in all. A failing input fast-check reports
 * (with its seed) becomes a table row in the parser's own test.
 */
import fc from 'fast-check';
import {
  CommandSplitter,
  FtpProtocolError,
  ReplyParser,
  formatEpsvReply,
  formatPasvReply,
  parseEpsvReply,
  parsePasvReply,
  rewriteFeatReply,
  type FtpReply,
  type SplitResult,
} from '@st/ftp-protocol';
import { initialControlState, type ControlEnv, type ControlEvent, type ControlState } from './ftp/control-machine.js';
import { ftpCommand, runSteps, upstreamReply } from './test-support/control-steps.js';
import { RequestReader } from './http1/request-reader.js';
import { HttpSyntaxError } from './http1/syntax.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 200);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const settings = { numRuns, ...(seed !== undefined ? { seed } : {}) };
jest.setTimeout(Math.max(5_000, numRuns * 2));

/** Bytes and the points where they are cut into chunks (as TCP may deliver them). */
function chunked(bytes: fc.Arbitrary<Uint8Array>) {
  return fc.tuple(bytes, fc.array(fc.nat(), { maxLength: 8 })).map(([data, cuts]) => {
    const buffer = Buffer.from(data);
    const points = [...new Set(cuts.map((cut) => (buffer.length === 0 ? 0 : cut % buffer.length)))].sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let at = 0;
    for (const point of points) {
      chunks.push(buffer.subarray(at, point));
      at = point;
    }
    chunks.push(buffer.subarray(at));
    return { whole: buffer, chunks };
  });
}

/** Text made of pieces that matter to the protocol, glued at random: digits, separators, line ends, Telnet bytes. */
function protocolish(pieces: string[], maxLength = 40) {
  const piece = fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 6 }), fc.uint8Array({ maxLength: 4 }).map((bytes) => Buffer.from(bytes).toString('latin1')));
  return fc.array(piece, { maxLength }).map((parts) => new Uint8Array(Buffer.from(parts.join(''), 'latin1')));
}

/** Runs a parser over chunks; a thrown error of the expected class is an outcome, anything else fails the property. */
function collect<T>(push: (chunk: Buffer) => T[], chunks: Buffer[], expected: new (...args: never[]) => Error): { items: T[]; error: string | null } {
  const items: T[] = [];
  try {
    for (const chunk of chunks) items.push(...push(chunk));
  } catch (error) {
    if (!(error instanceof expected)) throw error;
    return { items, error: error.constructor.name };
  }
  return { items, error: null };
}

describe('FTP command splitter', () => {
  const input = chunked(protocolish(['USER ', 'PASS x', 'RETR a', '\r\n', '\n', '\r', ' ', '\xff\xf4', '\xff\xf2', '\xff\xfb\x01', '\xff\xff', 'ABOR'], 60));

  it('never throws; any chunking gives the same commands; every line relayed ends with one CRLF and holds no other line end', () => {
    fc.assert(
      fc.property(input, ({ whole, chunks }) => {
        const describe = (results: SplitResult[]) => results.map((r) => (r.kind === 'command' ? `${r.command.verb}|${r.command.argument}|${r.command.raw.toString('latin1')}` : `too-long ${r.maxLength}`));
        const inOne = new CommandSplitter(64).push(whole);
        const splitter = new CommandSplitter(64);
        const inPieces = chunks.flatMap((chunk) => splitter.push(chunk));
        expect(describe(inPieces)).toEqual(describe(inOne));
        for (const result of inOne) {
          if (result.kind !== 'command') continue;
          const raw = result.command.raw;
          expect(raw.subarray(-2).toString('latin1')).toBe('\r\n');
          expect(raw.subarray(0, -2).includes(0x0a)).toBe(false);
          expect(raw.length).toBeLessThanOrEqual(64 + 2);
        }
      }),
      settings,
    );
  });
});

describe('FTP reply parser', () => {
  const input = chunked(protocolish(['220 ', '220-', '211-Features:', ' PASV', '211 End', '227 ', '550 ', '\r\n', '\n', '999 ', '-', ' ', '1,2,3,4,5,6'], 60));

  it('only ever fails with its own error; any chunking gives the same replies', () => {
    fc.assert(
      fc.property(input, ({ whole, chunks }) => {
        const describe = (replies: FtpReply[]) => replies.map((reply) => `${reply.code}|${reply.raw.toString('latin1')}`);
        const one = new ReplyParser({ maxReplyBytes: 256 });
        const inOne = collect((chunk) => one.push(chunk), [whole], FtpProtocolError);
        const pieces = new ReplyParser({ maxReplyBytes: 256 });
        const inPieces = collect((chunk) => pieces.push(chunk), chunks, FtpProtocolError);
        expect(inPieces.error).toBe(inOne.error);
        if (inOne.error === null) expect(describe(inPieces.items)).toEqual(describe(inOne.items));
      }),
      settings,
    );
  });
});

describe('passive replies', () => {
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((octets) => octets.join('.'));
  const port = fc.integer({ min: 1, max: 65535 });

  it('a PASV or EPSV reply we format reads back as the address and port it was made of', () => {
    fc.assert(
      fc.property(ipv4, port, (host, publicPort) => {
        expect(parsePasvReply(formatPasvReply(host, publicPort).trimEnd())).toEqual({ host, port: publicPort });
        expect(parseEpsvReply(formatEpsvReply(publicPort).trimEnd())).toEqual({ port: publicPort });
      }),
      settings,
    );
  });

  it('any reply text: parsed into an address and port in range, or refused with our own error', () => {
    const text = protocolish(['227 ', '229 ', '(', ')', ',', '|||', '|', '256', '0', '65535', '65536', '1,2,3,4', '  ', '-1'], 20).map((bytes) => Buffer.from(bytes).toString('latin1'));
    fc.assert(
      fc.property(text, (reply) => {
        for (const parse of [parsePasvReply, parseEpsvReply]) {
          try {
            const parsed = parse(reply) as { host?: string; port: number };
            expect(parsed.port).toBeGreaterThanOrEqual(1);
            expect(parsed.port).toBeLessThanOrEqual(65535);
            if (parsed.host !== undefined) expect(parsed.host.split('.').every((octet) => Number(octet) <= 255)).toBe(true);
          } catch (error) {
            if (!(error instanceof FtpProtocolError)) throw error;
          }
        }
      }),
      settings,
    );
  });
});

describe('the control session rewriting passive replies', () => {
  const publicAddress = '203.0.113.9';
  const env: ControlEnv = { client: { address: '198.51.100.7', port: 50123 }, policy: { allowClearData: false }, maxCommandsWithoutTransfer: 5000, pasvAddress: () => publicAddress };
  const command = (line: string): ControlEvent => ({ type: 'client-input', inputs: [{ command: ftpCommand(line) }] });
  const reply = (raw: string) => upstreamReply(raw);
  const run = (from: ControlState, events: ControlEvent[]) => runSteps(events, from, env);
  const loggedIn = run(initialControlState, [reply('220 ready')!, command('USER alice'), reply('331 password')!, command('PASS secret'), reply('230 in')!, command('PBSZ 0'), command('PROT P')]).state;
  // The upstream's reply text: its own (private) addresses and ports among other bytes, never containing a line end.
  const upstreamText = fc
    .array(fc.oneof(fc.constantFrom('(10,1,2,3,11,184)', '10,1,2,3,11,184', '(|||3004|)', '(!!!3004!)', 'Entering Passive Mode', ' ', ',', '(', ')', '|'), fc.string({ maxLength: 5 })), { maxLength: 12 })
    .map((parts) => parts.join('').replace(/[\r\n]/g, ' '));

  it('whatever the upstream says, a 227/229 reaching the client names only the public address and the leased port', () => {
    fc.assert(
      fc.property(fc.constantFrom('PASV', 'EPSV'), fc.constantFrom('227', '229'), upstreamText, (verb, code, text) => {
        const upstream = reply(`${code} ${text}`);
        if (!upstream) return;
        const { effects } = run(loggedIn, [command(verb), upstream]);
        const acquire = effects.find((effect) => effect.type === 'acquire-lease');
        const afterLease = acquire ? run(run(loggedIn, [command(verb), upstream]).state, [{ type: 'lease-acquired', publicPort: 4004 }]).effects : [];
        const toClient = [...effects, ...afterLease].filter((effect) => effect.type === 'send-client').map((effect) => String((effect as { data: string | Buffer }).data));
        expect(toClient.length).toBeGreaterThan(0);
        for (const line of toClient) {
          if (line.startsWith('227')) expect(line).toBe(formatPasvReply(publicAddress, 4004));
          else if (line.startsWith('229')) expect(line).toBe(formatEpsvReply(4004));
          else expect(line).toMatch(/^425 /);
          expect(line).not.toContain('10,1,2,3');
        }
      }),
      settings,
    );
  });
});

describe('FEAT rewriting', () => {
  const featureLine = fc.oneof(
    fc.constantFrom(' AUTH TLS', ' AUTH SSL', ' PBSZ', ' PROT', ' CCC', ' EPRT', ' EPSV', ' MDTM', ' SIZE', ' UTF8', ' REST STREAM', ' MLST type*;size*;', ' auth tls'),
    fc.string({ maxLength: 12 }).map((text) => ` ${text.replace(/[\r\n]/g, '')}`),
  );

  it('never lists the upstream’s AUTH/CCC/active mode, always PBSZ and PROT once; rewriting its own output changes nothing', () => {
    fc.assert(
      fc.property(fc.array(featureLine, { maxLength: 12 }), fc.boolean(), (lines, authTls) => {
        const [upstream] = new ReplyParser().push(Buffer.from(['211-Features:', ...lines, '211 End'].map((line) => `${line}\r\n`).join('')));
        const rewritten = rewriteFeatReply(upstream ?? null, { authTls });
        const [reparsed] = new ReplyParser().push(Buffer.from(rewritten));
        expect(reparsed?.code).toBe(211);
        const names = reparsed!.lines.slice(1, -1).map((line) => line.trim().split(/\s+/)[0]!.toUpperCase());
        expect(names.filter((name) => name === 'PBSZ')).toHaveLength(1);
        expect(names.filter((name) => name === 'PROT')).toHaveLength(1);
        expect(names.filter((name) => ['CCC', 'EPRT', 'LPRT'].includes(name))).toEqual([]);
        expect(reparsed!.lines.filter((line) => line.trim().toUpperCase().startsWith('AUTH'))).toEqual(authTls ? [' AUTH TLS'] : []);
        if (!authTls) expect(rewriteFeatReply(reparsed!)).toBe(rewritten);
      }),
      settings,
    );
  });
});

describe('HTTP request reader', () => {
  const input = chunked(
    protocolish(
      ['GET / HTTP/1.1\r\n', 'POST /u HTTP/1.1\r\n', 'Host: a\r\n', 'Content-Length: 3\r\n', 'Content-Length: 1\r\n', 'Transfer-Encoding: chunked\r\n', '3\r\nabc\r\n', '0\r\n\r\n', '\r\n', 'Connection: close\r\n', 'Upgrade: websocket\r\nConnection: upgrade\r\n', ' folded\r\n', 'HTTP/1.0\r\n', '\n', 'x'],
      30,
    ),
  );

  it('only ever fails with an HTTP syntax error; any chunking reads the same requests and body bytes', () => {
    fc.assert(
      fc.property(input, ({ whole, chunks }) => {
        const read = (pieces: Buffer[]) => {
          const seen: string[] = [];
          let body = '';
          const reader = new RequestReader({
            head: (head) => seen.push(`head ${head.method} ${head.target}`),
            body: (data) => (body += data.toString('latin1')),
            end: () => seen.push(`end, body ${JSON.stringify(body)}`),
          });
          const outcome = collect(
            (chunk) => {
              reader.push(chunk);
              return [];
            },
            pieces,
            HttpSyntaxError,
          );
          return { seen, body, error: outcome.error };
        };
        const inOne = read([whole]);
        const inPieces = read(chunks);
        expect(inPieces).toEqual(inOne);
      }),
      settings,
    );
  });
});

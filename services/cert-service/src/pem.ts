/** One `-----BEGIN X----- … -----END X-----` block, with where it was in the text. */
export interface PemBlock {
  /** 1-based position among the blocks of the text. */
  index: number;
  label: string;
  /** RFC 1421 headers (Proc-Type, DEK-Info) of a legacy encrypted key. */
  headers: Record<string, string>;
  der: Buffer;
  /** The block as given, normalised to LF: what a PEM reader needs for legacy encrypted keys. */
  text: string;
  firstLine: number;
  lastLine: number;
}

export interface PemParseResult {
  blocks: PemBlock[];
  /** Each says which line and which block; the text around blocks (openssl's "Bag Attributes" …) is ignored. */
  problems: string[];
}

const beginPattern = /^-----BEGIN ([A-Z0-9 ]+)-----$/;
const endPattern = /^-----END ([A-Z0-9 ]+)-----$/;
const base64Line = /^[A-Za-z0-9+/]*={0,2}$/;
const headerLine = /^([A-Za-z-]+):\s*(.*)$/;

export function describeBlock(block: Pick<PemBlock, 'index' | 'label' | 'firstLine' | 'lastLine'>): string {
  return `block ${block.index} (${block.label}, lines ${block.firstLine}-${block.lastLine})`;
}

/** Splits a text into PEM blocks, reporting broken ones by line number instead of guessing. */
export function parsePem(text: string): PemParseResult {
  const lines = text.split(/\r?\n/);
  const blocks: PemBlock[] = [];
  const problems: string[] = [];
  let begun = 0;
  let open: { index: number; label: string; firstLine: number; body: string[]; headers: Record<string, string>; raw: string[]; broken: boolean } | null = null;

  lines.forEach((rawLine, position) => {
    const lineNumber = position + 1;
    const line = rawLine.trim();
    const begin = beginPattern.exec(line);
    const end = endPattern.exec(line);
    if (!open) {
      if (begin) open = { index: ++begun, label: begin[1]!, firstLine: lineNumber, body: [], headers: {}, raw: [line], broken: false };
      else if (end) problems.push(`line ${lineNumber}: "-----END ${end[1]}-----" without a BEGIN line before it`);
      else if (/-----(BEGIN|END)/.test(line)) problems.push(`line ${lineNumber}: malformed PEM boundary "${line.slice(0, 60)}"`);
      return;
    }
    const block = open;
    block.raw.push(line);
    if (begin) {
      problems.push(`line ${lineNumber}: BEGIN ${begin[1]} inside block ${block.index} (${block.label}, starting at line ${block.firstLine}): its END line is missing`);
      open = { index: ++begun, label: begin[1]!, firstLine: lineNumber, body: [], headers: {}, raw: [line], broken: false };
      return;
    }
    if (end) {
      open = null;
      const where = describeBlock({ index: block.index, label: block.label, firstLine: block.firstLine, lastLine: lineNumber });
      if (end[1] !== block.label) {
        problems.push(`line ${lineNumber}: END ${end[1]} closes the BEGIN ${block.label} of line ${block.firstLine} (block ${block.index})`);
        return;
      }
      if (block.broken) return;
      const body = block.body.join('');
      if (body === '') {
        problems.push(`${where}: the block is empty`);
        return;
      }
      blocks.push({
        index: block.index,
        label: block.label,
        headers: block.headers,
        der: Buffer.from(body, 'base64'),
        text: `${block.raw.join('\n')}\n`,
        firstLine: block.firstLine,
        lastLine: lineNumber,
      });
      return;
    }
    if (line === '') return;
    const header = headerLine.exec(line);
    if (header && block.body.length === 0) {
      block.headers[header[1]!] = header[2]!;
      return;
    }
    if (!base64Line.test(line)) {
      if (!block.broken) problems.push(`line ${lineNumber}: not base64, in block ${block.index} (${block.label}, starting at line ${block.firstLine})`);
      block.broken = true;
      return;
    }
    block.body.push(line);
  });
  if (open) {
    const unclosed = open as { index: number; label: string; firstLine: number };
    problems.push(`line ${unclosed.firstLine}: block ${unclosed.index} (${unclosed.label}) has no END line`);
  }
  return { blocks, problems };
}

/** True when the text looks like PEM rather than bare base64 DER. */
export function looksLikePem(text: string): boolean {
  return text.includes('-----BEGIN') || text.includes('-----END');
}

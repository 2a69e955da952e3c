import { formatRequestPath, parseRequestPath, uploadFileName } from './request-path.js';

describe('parseRequestPath', () => {
  it.each([
    { desc: 'root', target: '/', segments: [], trailingSlash: true },
    { desc: 'file', target: '/a/b.txt', segments: ['a', 'b.txt'], trailingSlash: false },
    { desc: 'directory', target: '/a/b/', segments: ['a', 'b'], trailingSlash: true },
    { desc: 'query and fragment dropped', target: '/a.txt?download=1#x', segments: ['a.txt'], trailingSlash: false },
    { desc: 'percent-decoded', target: '/caf%C3%A9/a%20b', segments: ['café', 'a b'], trailingSlash: false },
    { desc: 'empty and dot segments collapsed', target: '//a/./b//', segments: ['a', 'b'], trailingSlash: true },
    { desc: 'encoded dot is a dot', target: '/a/%2e/b', segments: ['a', 'b'], trailingSlash: false },
    { desc: 'three dots is a name', target: '/.../x', segments: ['...', 'x'], trailingSlash: false },
    { desc: 'dot file', target: '/.hidden', segments: ['.hidden'], trailingSlash: false },
  ])('accepts $desc', ({ target, segments, trailingSlash }) => {
    expect(parseRequestPath(target)).toEqual({ ok: true, segments, trailingSlash });
  });

  it.each([
    { desc: 'parent segment', target: '/../etc/passwd', reason: /\.\./ },
    { desc: 'parent in the middle', target: '/a/../../etc', reason: /\.\./ },
    { desc: 'encoded parent', target: '/%2e%2e/etc', reason: /\.\./ },
    { desc: 'upper-case encoded parent', target: '/%2E%2E/etc', reason: /\.\./ },
    { desc: 'half-encoded parent', target: '/.%2e/etc', reason: /\.\./ },
    { desc: 'encoded slash', target: '/a%2Fb', reason: /"\/"/ },
    { desc: 'encoded NUL', target: '/a%00b', reason: /NUL/ },
    { desc: 'bad percent-encoding', target: '/%zz', reason: /percent/ },
    { desc: 'truncated UTF-8', target: '/%C3', reason: /percent/ },
    { desc: 'relative target', target: 'a/b', reason: /start with/ },
    { desc: 'absolute-form target', target: 'http://host/a', reason: /start with/ },
    { desc: 'asterisk-form target', target: '*', reason: /start with/ },
    { desc: 'over-long name', target: `/${'x'.repeat(256)}`, reason: /255/ },
  ])('refuses $desc', ({ target, reason }) => {
    const parsed = parseRequestPath(target);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});

describe('formatRequestPath', () => {
  it.each([
    { desc: 'root', segments: [], directory: true, expected: '/' },
    { desc: 'file', segments: ['a b', 'c#d?.txt'], directory: false, expected: '/a%20b/c%23d%3F.txt' },
    { desc: 'directory', segments: ['café'], directory: true, expected: '/caf%C3%A9/' },
  ])('$desc', ({ segments, directory, expected }) => {
    expect(formatRequestPath(segments, directory)).toBe(expected);
  });

  it('round-trips through parseRequestPath', () => {
    const segments = ['a b', '100%', 'x?y#z', 'é'];
    expect(parseRequestPath(formatRequestPath(segments, false))).toEqual({ ok: true, segments, trailingSlash: false });
  });
});

describe('uploadFileName', () => {
  it.each([
    { desc: 'plain name', filename: 'report.pdf', expected: 'report.pdf' },
    { desc: 'Windows path', filename: 'C:\\Users\\me\\report.pdf', expected: 'report.pdf' },
    { desc: 'POSIX path', filename: '../../etc/passwd', expected: 'passwd' },
    { desc: 'parent only', filename: '..', expected: undefined },
    { desc: 'trailing slash', filename: 'dir/', expected: undefined },
    { desc: 'empty', filename: '', expected: undefined },
    { desc: 'missing', filename: undefined, expected: undefined },
    { desc: 'NUL', filename: 'a\0b', expected: undefined },
  ])('$desc', ({ filename, expected }) => {
    expect(uploadFileName(filename)).toBe(expected);
  });
});

import { escapeHtml, formatSize, renderListingHtml, sortEntries, type ListingEntry } from './listing-html.js';

const entry = (name: string, type: 'file' | 'directory', size = 0): ListingEntry => ({ name, type, size, modified: '2024-01-01T00:00:00.000Z' });

describe('listing HTML', () => {
  it.each([
    { input: `<script>"x" & 'y'</script>`, expected: '&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;' },
    { input: 'plain', expected: 'plain' },
  ])('escapes $input', ({ input, expected }) => {
    expect(escapeHtml(input)).toBe(expected);
  });

  it.each([
    { bytes: 0, expected: '0 B' },
    { bytes: 1023, expected: '1023 B' },
    { bytes: 1024, expected: '1.0 KiB' },
    { bytes: 1024 * 1024 * 3.5, expected: '3.5 MiB' },
  ])('formats $bytes bytes as $expected', ({ bytes, expected }) => {
    expect(formatSize(bytes)).toBe(expected);
  });

  it('sorts directories first, then by name', () => {
    const sorted = sortEntries([entry('b.txt', 'file'), entry('z', 'directory'), entry('a.txt', 'file'), entry('c', 'directory')]);
    expect(sorted.map((e) => e.name)).toEqual(['c', 'z', 'a.txt', 'b.txt']);
  });

  it('links names encoded and shows them escaped', () => {
    const html = renderListingHtml('/docs/', [entry('a "b" <c>.txt', 'file', 5), entry('sub dir', 'directory')], false);
    expect(html).toContain('<a href="./a%20%22b%22%20%3Cc%3E.txt">a &quot;b&quot; &lt;c&gt;.txt</a>');
    expect(html).toContain('<a href="./sub%20dir/">sub dir/</a>');
    expect(html).toContain('<a href="../">../</a>');
    expect(html).toContain('<title>Index of /docs/</title>');
  });
});

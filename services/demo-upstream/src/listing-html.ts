export interface ListingEntry {
  name: string;
  type: 'file' | 'directory';
  size: number;
  /** ISO 8601, UTC. */
  modified: string;
}

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => htmlEscapes[char] ?? char);
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Directories first, then by name in code-point order, so listings are stable. */
export function sortEntries(entries: ListingEntry[]): ListingEntry[] {
  return [...entries].sort((a, b) => (a.type === b.type ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.type === 'directory' ? -1 : 1));
}

/**
 * The HTML page for one directory; `displayPath` is the decoded path, shown as
 * the title. Links and the form target are relative, so the page keeps working
 * behind a proxy that mounts it under another prefix.
 */
export function renderListingHtml(displayPath: string, entries: ListingEntry[], isRoot: boolean): string {
  const rows = sortEntries(entries).map((entry) => {
    const href = encodeURIComponent(entry.name) + (entry.type === 'directory' ? '/' : '');
    const label = escapeHtml(entry.name) + (entry.type === 'directory' ? '/' : '');
    const size = entry.type === 'directory' ? '&mdash;' : escapeHtml(formatSize(entry.size));
    return `<tr><td><a href="./${escapeHtml(href)}">${label}</a></td><td class="size">${size}</td><td>${escapeHtml(entry.modified)}</td></tr>`;
  });
  const parent = isRoot ? '' : '<tr><td><a href="../">../</a></td><td></td><td></td></tr>';
  const title = `Index of ${escapeHtml(displayPath)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; }
table { border-collapse: collapse; min-width: 40rem; }
th, td { text-align: left; padding: 0.25rem 1rem 0.25rem 0; }
td.size { text-align: right; font-variant-numeric: tabular-nums; }
form { margin-top: 1.5rem; }
</style>
</head>
<body>
<h1>${title}</h1>
<table>
<thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead>
<tbody>
${[parent, ...rows].filter(Boolean).join('\n')}
</tbody>
</table>
<form method="post" enctype="multipart/form-data" action="./">
<label>Upload files here: <input type="file" name="file" multiple required></label>
<button type="submit">Upload</button>
</form>
</body>
</html>
`;
}

/** Pure: a V8 .cpuprofile (node --cpu-prof) in, the places that burn CPU out. */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
}

export interface ProfileLine {
  what: string;
  percent: number;
}

/** Groups a script URL: a package under node_modules, node's own modules, our workspace, or a V8 pseudo-frame. */
export function codeArea(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const packageMatch = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return `package ${packageMatch[1]}`;
  if (url.startsWith('node:internal/')) return `node internal/${url.slice(14).split('/')[0]}`;
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  const workspace = /\/(libs|services)\/([^/]+)\//.exec(url);
  if (workspace) return `${workspace[1]}/${workspace[2]}`;
  return url;
}

function shortUrl(url: string): string {
  const workspace = /\/((?:libs|services)\/.+)$/.exec(url);
  if (workspace) return workspace[1]!.replace('/dist/', '/');
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(.+)$/.exec(url);
  return pkg ? pkg[1]! : url;
}

/** Shares of busy time (idle samples left out), by function and by code area. */
export function summarizeCpuProfile(profile: CpuProfile, top = 15): { functions: ProfileLine[]; areas: ProfileLine[]; seconds: number; busyShare: number } {
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' && !url) {
      idle += hits;
      continue;
    }
    busy += hits;
    const name = functionName || '(anonymous)';
    const key = url ? `${name} ${shortUrl(url)}:${lineNumber + 1}` : name;
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
    const area = codeArea(url, name);
    byArea.set(area, (byArea.get(area) ?? 0) + hits);
  }
  const ranked = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([what, hits]) => ({ what, percent: (100 * hits) / Math.max(1, busy) }));
  return {
    functions: ranked(byFunction),
    areas: ranked(byArea),
    seconds: (profile.endTime - profile.startTime) / 1e6,
    busyShare: busy / Math.max(1, busy + idle),
  };
}

export function renderProfileSection(title: string, profile: CpuProfile): string {
  const { functions, areas, seconds, busyShare } = summarizeCpuProfile(profile);
  const list = (lines: ProfileLine[]) => lines.map((line) => `| ${line.percent.toFixed(1)}% | \`${line.what.replace(/\|/g, '\\|')}\` |`).join('\n');
  return [
    `## ${title}`,
    '',
    `Self time as a share of the main thread's busy time (busy ${(100 * busyShare).toFixed(0)}% of ${seconds.toFixed(0)} s, the whole run;` +
      ' narrow it with BENCH_ONLY). Native frames such as writeBuffer/writev include the TLS encryption done inside them.',
    '',
    '| share | area |',
    '|---:|---|',
    list(areas),
    '',
    '| share | function |',
    '|---:|---|',
    list(functions),
  ].join('\n');
}

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  /** utime + stime, in clock ticks. */
  ownTicks: number;
  /** cutime + cstime: children this process has waited for (vsftpd sessions that ended). */
  reapedChildTicks: number;
}

/** Parses /proc/<pid>/stat; `comm` may hold spaces and parentheses, so fields are counted from the last ')'. */
export function parseProcStat(pid: number, text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // Field 3 (state) is index 0 here; utime is field 14, stime 15, cutime 16, cstime 17.
  const fields = text.slice(close + 2).trim().split(' ');
  const num = (field: number) => Number(fields[field - 3]);
  const stat = { pid, state: fields[0] ?? '?', ppid: num(4), ownTicks: num(14) + num(15), reapedChildTicks: num(16) + num(17) };
  return Number.isFinite(stat.ownTicks) && Number.isFinite(stat.ppid) ? stat : undefined;
}

/** The "VmRSS:  12345 kB" line of /proc/<pid>/status, in KiB (0 for kernel threads and zombies). */
export function parseVmRssKiB(statusText: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  return match ? Number(match[1]) : 0;
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function allProcesses(): ProcStat[] {
  const result: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat) result.push(stat);
  }
  return result;
}

/** `root` and every process below it (by parent pid), root first. */
export function processTree(root: number, processes: ProcStat[] = allProcesses()): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  let rootStat: ProcStat | undefined;
  for (const stat of processes) {
    if (stat.pid === root) rootStat = stat;
    const siblings = byParent.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else byParent.set(stat.ppid, [stat]);
  }
  if (!rootStat) return [];
  const tree: ProcStat[] = [rootStat];
  for (let i = 0; i < tree.length; i++) tree.push(...(byParent.get(tree[i]!.pid) ?? []));
  return tree;
}

export const clockTicksPerSecond: number = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds used so far by a process tree: each live process's own time plus
 * the time of the children it already reaped. A vsftpd session that ended and
 * was reaped shows up in its listener's cutime, so nothing is lost; children of
 * the tree that are not yet reaped are still in the tree. Processes outside the
 * tree (the upstream, the client) never count.
 */
export function treeCpuSeconds(root: number): number {
  const ticks = processTree(root).reduce((sum, stat) => sum + stat.ownTicks + stat.reapedChildTicks, 0);
  return ticks / clockTicksPerSecond;
}

/** Resident memory of a process tree, in bytes. */
export function treeRssBytes(root: number): number {
  let kib = 0;
  for (const stat of processTree(root)) {
    try {
      kib += parseVmRssKiB(readFileSync(`/proc/${stat.pid}/status`, 'utf8'));
    } catch {
      // Exited between the two reads.
    }
  }
  return kib * 1024;
}

/** Samples a tree's RSS every `intervalMs` until stopped; returns the peak and the samples' count. */
export function pollPeakRss(root: number, intervalMs = 100): { stop(): { peakBytes: number; samples: number } } {
  let peakBytes = treeRssBytes(root);
  let samples = 1;
  const timer = setInterval(() => {
    peakBytes = Math.max(peakBytes, treeRssBytes(root));
    samples++;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      peakBytes = Math.max(peakBytes, treeRssBytes(root));
      samples++;
      return { peakBytes, samples };
    },
  };
}

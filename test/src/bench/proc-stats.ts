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

/** `root` and every process below it (by parent pid), root first, from one scan of /proc. */
export function processTreeFrom(root: number, processes: ProcStat[]): ProcStat[] {
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

/**
 * Children from /proc/<pid>/task/<tid>/children (every thread's: a child forked
 * by another thread of stunnel or node is listed under that thread). Undefined
 * when the kernel lacks that file.
 */
function childrenOf(pid: number): number[] | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const tid of tids) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (child.trim()) children.push(Number(child));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid)) {
        // The thread may just have ended; the main thread's file missing means no support.
        if (readProcStat(pid)) return undefined;
      }
    }
  }
  return children;
}

let childrenFilesWork = true;

/** `root` and every process below it, root first. Cheap enough to call every 50 ms. */
export function processTree(root: number): ProcStat[] {
  if (childrenFilesWork) {
    const rootStat = readProcStat(root);
    if (!rootStat) return [];
    const tree: ProcStat[] = [rootStat];
    for (let i = 0; i < tree.length; i++) {
      const children = childrenOf(tree[i]!.pid);
      if (children === undefined) {
        childrenFilesWork = false;
        return processTreeFrom(root, allProcesses());
      }
      for (const child of children) {
        const stat = readProcStat(child);
        if (stat) tree.push(stat);
      }
    }
    return tree;
  }
  return processTreeFrom(root, allProcesses());
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
 * CPU seconds a process tree uses between construction and stop(). The tree is
 * sampled every `intervalMs` and each process's own user+system time is kept
 * at its last value, so a process that ends during the measurement still
 * counts. Its parent's cutime is not used: vsftpd's session processes do not
 * always reach the listener's cutime (some are reaped by init), which made
 * before/after readings of the tree undercount by up to 90%. Processes outside
 * the tree (the upstream, the client) never count.
 */
export class TreeCpuTracker {
  private readonly baseline = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly root: number, intervalMs = 50) {
    for (const stat of processTree(root)) this.baseline.set(stat.pid, stat.ownTicks);
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    // max: a zombie may report less than the process did while alive.
    for (const stat of processTree(this.root)) this.last.set(stat.pid, Math.max(stat.ownTicks, this.last.get(stat.pid) ?? 0));
  }

  /** How many processes of the tree are alive besides the root. */
  liveDescendants(): number {
    return Math.max(0, processTree(this.root).filter((stat) => stat.state !== 'Z').length - 1);
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    let ticks = 0;
    for (const [pid, value] of this.last) ticks += value - (this.baseline.get(pid) ?? 0);
    return ticks / clockTicksPerSecond;
  }
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

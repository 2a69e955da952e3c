import { spawnSync } from 'node:child_process';
import { canConnect, freePortBlock } from '@st/test-kit';

/**
 * Helpers for the tests that feed rendered files to the real tools (stunnel4,
 * nft, iptables-restore, ufw). Test-only; kept out of the renderers so those stay pure.
 */

/** The path of a command, or null; tests use it to tell a missing tool from a failing one. */
export function commandPath(command: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : null;
}


/** `count` consecutive ports free on `host` (below the ephemeral range). */
export const freePortRange = (host: string, count: number): Promise<number> => freePortBlock(count, { hosts: [host] });
export { canConnect };

import { spawn, type ChildProcess } from 'node:child_process';
import { canConnect } from '@st/test-kit';

/**
 * A server of Debian's (nginx, haproxy) started in the foreground for a test:
 * resolves once it accepts on `ready`, fails with its stderr if it exits or
 * does not accept within 10 s. `stop` ends it (SIGTERM) and waits for it.
 */
export async function startForeground(
  name: string,
  command: string,
  args: string[],
  ready: { host: string; port: number },
  env?: NodeJS.ProcessEnv,
): Promise<{ process: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(env ? { env } : {}) });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(ready.host, ready.port))) {
    if (child.exitCode !== null) throw new Error(`${name} exited at start (${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not accept on ${ready.host}:${ready.port} within 10 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    process: child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

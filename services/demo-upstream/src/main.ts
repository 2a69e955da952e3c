import type { Server } from 'node:http';
import { createLogger } from '@st/logging';
import { demoConfigFromEnv } from './config.js';
import { createFileBrowser } from './file-browser.js';
import { seedSampleDirectory } from './sample-content.js';
import { startVsftpd, type RunningVsftpd } from './vsftpd.js';

const logger = createLogger({ service: 'demo-upstream' });

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    server.close(() => resolveClose());
    server.closeAllConnections();
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

async function main(): Promise<void> {
  const { config, secrets } = demoConfigFromEnv(process.env, process.cwd());
  const seed = await seedSampleDirectory(config.rootDir);
  if (seed.seeded) logger.info({ rootDir: config.rootDir, files: seed.files }, 'seeded the sample directory');

  let ftp: RunningVsftpd | undefined;
  const http = createFileBrowser({ rootDir: config.rootDir, maxUploadBytes: config.maxUploadBytes });
  let stopping = false;
  const stop = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'stopping the demo upstream');
    await Promise.allSettled([ftp?.stop(), http.listening ? close(http) : undefined]);
    logger.info('demo upstream stopped');
    process.exit(exitCode);
  };
  // Handlers stay installed: a second signal (a process group's, then the parent's) must not cut the stop short,
  // which would leave vsftpd and its login behind.
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));

  try {
    ftp = await startVsftpd({
      host: config.host,
      port: config.ftpPort,
      passiveRange: config.passiveRange,
      rootDir: config.rootDir,
      user: config.user,
      password: secrets.password,
      workDir: config.workDir,
      pasvPromiscuous: config.pasvPromiscuous,
    });
    void ftp.exited.then((result) => {
      if (!stopping) {
        logger.error({ ...result, vsftpdLog: ftp?.logFile }, 'vsftpd exited unexpectedly');
        void stop('vsftpd exited', 1);
      }
    });
    await listen(http, config.host, config.httpPort);
  } catch (error) {
    logger.fatal({ err: error }, 'the demo upstream could not start');
    await stop('start failed', 1);
    return;
  }

  logger.info(
    {
      config,
      ftp: { url: `ftp://${urlHost(config.host)}:${config.ftpPort}/`, passiveRange: config.passiveRange, user: config.user, pid: ftp.pid, log: ftp.logFile },
      http: { url: `http://${urlHost(config.host)}:${config.httpPort}/` },
    },
    `demo upstream serving ${config.rootDir} over FTP on port ${config.ftpPort} and HTTP on port ${config.httpPort}`,
  );
}

void main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'the demo upstream failed');
  process.exit(1);
});

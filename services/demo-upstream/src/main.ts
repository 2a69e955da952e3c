import type { Server } from 'node:http';
import { closeLogger, createLogger } from '@st/logging';
import { stopOnSignals } from '@st/service-kit';
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
  let stopping: Promise<void> | null = null;
  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      logger.info({ reason }, 'stopping the demo upstream');
      // A start still under way finishes first, so that what it started is stopped too.
      await starting.catch(() => undefined);
      await Promise.allSettled([ftp?.stop(), http.listening ? close(http) : undefined]);
      logger.info('demo upstream stopped');
    })());
  const exitAfterStop = (reason: string) =>
    void stop(reason).finally(() => void closeLogger(logger).finally(() => process.exit(1)));
  // Idempotent: a second signal (a process group's, then the parent's) never cuts the stop short,
  // which would leave vsftpd and its login behind.
  stopOnSignals({ stop: () => stop('signal') }, logger);

  const starting = (async () => {
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
    const running = ftp;
    void running.exited.then((result) => {
      if (!stopping) {
        logger.error({ ...result, vsftpdLog: running.logFile }, 'vsftpd exited unexpectedly');
        exitAfterStop('vsftpd exited');
      }
    });
    await listen(http, config.host, config.httpPort);
  })();
  try {
    await starting;
  } catch (error) {
    logger.fatal({ err: error }, 'the demo upstream could not start');
    exitAfterStop('start failed');
    return;
  }
  if (stopping || !ftp) return;

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

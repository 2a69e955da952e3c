import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'amqplib';
import { destination } from 'pino';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';
import { createConsoleService, defaultThrottleRules, type ConsoleService } from '@st/console';
import { createLogService, type LogService } from '@st/log-service';
import { closeLogger, createLogger, type Logger } from '@st/logging';
import { testAmqpUrl } from './infrastructure.js';
import { startStack, type Stack, type StackOptions } from './stack.js';

export const operatorToken = 'test-operator-token-0123456789';

/** Debian's Chromium, driven headless by Playwright (no browser download). */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const chromiumFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Where screenshots of the console go (a CI artifact, git-ignored). */
export const screenshotDir = resolve(__dirname, '../../../.ci/out/console-screenshots');

export interface ConsoleStack {
  stack: Stack;
  logService: LogService;
  logUrl: string;
  console: ConsoleService;
  consoleUrl: string;
  consoleLogger: Logger;
  browser: BrowserContext;
  /** fetch() against the console, trusting the certificate it serves (the stack's). */
  consoleFetch(path: string, init?: UndiciRequestInit): ReturnType<typeof undiciFetch>;
  /** A new page at 1280×800 on the console, signed out (the context's cookies are cleared, so earlier pages are signed out too). */
  newPage(): Promise<Page>;
  /** Signs a page in through the sign-in form. */
  signIn(page: Page, secret: string, name?: string): Promise<void>;
  screenshot(page: Page, name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A whole system for console tests: the tunnel stack (vsftpd, config-,
 * cert-service, gateway shipping its logs), a log-service storing them, the
 * console over HTTPS with the active certificate, and Chromium.
 */
export async function startConsoleStack(options: StackOptions = {}): Promise<ConsoleStack> {
  const topology = { exchange: `st.logs.test.${randomBytes(4).toString('hex')}`, queue: `st.logs.test.${randomBytes(4).toString('hex')}` };
  const stack = await startStack({ ...options, shipLogs: topology });
  const amqpUrl = await testAmqpUrl();
  const logService = createLogService({
    host: '127.0.0.1',
    port: 0,
    dbPath: join(stack.dir, 'logs.db'),
    operatorToken,
    adminToken: stack.adminToken,
    logger: stack.logger.child({ service: 'log-service' }),
    amqp: { url: amqpUrl, ...topology },
    retention: { maxAgeMs: 86_400_000, maxBytes: 1e9, intervalMs: 3_600_000 },
  });
  const logUrl = (await logService.start()).url;
  // The console's own records (sign-ins, every change) go to the log-service like everyone else's.
  const consoleLogger = createLogger({
    service: 'console',
    replica: 'test-console',
    level: 'debug',
    destination: destination({ dest: stack.logFile, sync: true }),
    shipping: { url: amqpUrl, ...topology },
  });
  const consoleService = createConsoleService({
    host: '127.0.0.1',
    port: 0,
    tls: true,
    configServiceUrl: stack.configServiceUrl,
    certServiceUrl: stack.certServiceUrl,
    logServiceUrl: logUrl,
    gatewayHealthUrls: [`http://127.0.0.1:${stack.ports.health}`],
    adminToken: stack.adminToken,
    operatorToken,
    serviceToken: stack.serviceToken,
    publicDir: resolve(__dirname, '../../../services/console/dist/public'),
    session: { idleMs: 600_000, maxMs: 3_600_000 },
    amqpUrl,
    eventsExchange: stack.eventsExchange,
    logger: consoleLogger,
    // The default rules, but a first wait of 5 s, not 1 s: a test signs in wrongly in the browser while the
    // address is slowed down, and opening a page and clicking took more than a second on a loaded machine.
    throttle: { ...defaultThrottleRules, firstDelayMs: 5_000 },
  });
  const consoleUrl = (await consoleService.start()).url;

  const trusting = new Agent({ connect: { ca: stack.caPem } });
  const profile = await mkdtemp(join(tmpdir(), 'st-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumFlags,
    viewport: { width: 1280, height: 800 },
    // The console serves the stack's self-signed certificate.
    ignoreHTTPSErrors: true,
    acceptDownloads: true,
  });
  await mkdir(screenshotDir, { recursive: true });

  return {
    stack,
    logService,
    logUrl,
    console: consoleService,
    consoleUrl,
    consoleLogger,
    browser,
    consoleFetch: (path, init = {}) => undiciFetch(`${consoleUrl}${path}`, { ...init, dispatcher: trusting }),
    async newPage() {
      await browser.clearCookies();
      const page = await browser.newPage();
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(`${consoleUrl}/`);
      return page;
    },
    async signIn(page, secret, name = 'Test Admin') {
      await page.getByLabel('Your name (shown in the change log)').fill(name);
      await page.getByLabel('Token or password').fill(secret);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('tablist', { name: 'SSL Setup' }).waitFor();
    },
    async screenshot(page, name) {
      await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: false });
    },
    async stop() {
      await browser.close().catch(() => undefined);
      await trusting.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
      await consoleService.stop().catch(() => undefined);
      await closeLogger(consoleLogger).catch(() => undefined);
      await logService.stop().catch(() => undefined);
      await stack.stop();
      // The test's own queue and exchange are durable: remove them so runs leave nothing on the broker.
      const connection = await connect(amqpUrl);
      const channel = await connection.createChannel();
      await channel.deleteQueue(topology.queue);
      await channel.deleteExchange(topology.exchange);
      await connection.close();
    },
  };
}

import type { Express } from 'express';
import { listenHttp, type RunningHttpServer } from './http-server.js';

export interface StartedService {
  url: string;
  port: number;
}

export interface RunnableService {
  start(): Promise<StartedService>;
  stop(): Promise<void>;
}

export interface HttpServiceOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /**
   * Runs once the port is bound, so liveness already answers while it works.
   * If it throws, the server is closed again and start() rethrows.
   */
  onListening?(server: RunningHttpServer): Promise<void> | void;
  /**
   * Releases what onListening set up (bus connections, timers): after stop(),
   * and when start() fails, so a failed start leaves nothing running.
   */
  tearDown?(): Promise<void>;
  /** Runs after the server has closed (and tearDown has finished). */
  onStopped?(): void;
}

/** An Express app as a service: start() while running returns the same address; stop() when stopped does nothing. */
export function createHttpService(app: Express, options: HttpServiceOptions): RunnableService {
  let running: RunningHttpServer | undefined;
  return {
    async start() {
      if (running) return { url: running.url, port: running.port };
      let server: RunningHttpServer;
      try {
        server = await listenHttp(app, options.host, options.port);
      } catch (error) {
        await options.tearDown?.();
        throw error;
      }
      running = server;
      try {
        await options.onListening?.(server);
      } catch (error) {
        running = undefined;
        await server.close();
        await options.tearDown?.();
        throw error;
      }
      return { url: server.url, port: server.port };
    },
    async stop() {
      const server = running;
      running = undefined;
      if (!server) return;
      await server.close();
      await options.tearDown?.();
      options.onStopped?.();
    },
  };
}

import type { RequestHandler } from 'express';
import type { Logger } from '@st/logging';

/** Logs each API call once it is answered; refused credentials at warn so operators can see them. */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const record = {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        remote: req.socket.remoteAddress,
        ms: Number((process.hrtime.bigint() - started) / 1_000_000n),
      };
      if (res.statusCode === 401 || res.statusCode === 403) logger.warn(record, 'request refused');
      else logger.debug(record, 'request');
    });
    next();
  };
}

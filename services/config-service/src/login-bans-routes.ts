import express, { type RequestHandler } from 'express';
import { configApi, type LoginBan } from '@st/contracts';
import type { Logger } from '@st/logging';
import { parseAddressRange, type LoginBanStore } from '@st/login-bans';
import { HttpError } from '@st/service-kit';

/** The operator's side of the login defender: list the banned addresses, lift a ban. The bans themselves live in Redis, shared with the gateways. */
export function loginBanRoutes(bans: LoginBanStore | null, admin: RequestHandler, logger: Logger): express.Router {
  const router = express.Router();
  const store = (): LoginBanStore => {
    if (!bans) throw new HttpError(503, 'NOT_CONFIGURED', 'the login ban list is kept in Redis: start config-service with REDIS_URL (and the gateways\' REDIS_PREFIX) to see it');
    return bans;
  };
  const fromRedis = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      logger.warn({ reason: (error as Error).message }, 'login ban list: Redis cannot be reached');
      throw new HttpError(503, 'BANS_UNAVAILABLE', 'the login ban list cannot be read: Redis, where the gateways keep it, cannot be reached; try again when it is back');
    }
  };

  router.get(configApi.loginBans, admin, async (_req, res) => {
    const list: LoginBan[] = await fromRedis(() => store().list());
    res.json({ bans: list });
  });

  router.delete(configApi.loginBan, admin, async (req, res) => {
    const address = String(req.params.address);
    const parsed = parseAddressRange(address);
    if (!parsed.ok || address.includes('/')) throw new HttpError(400, 'INVALID_REQUEST', `"${address}" is not an IP address; name the banned address as GET ${configApi.loginBans} lists it`);
    const lifted = await fromRedis(() => store().lift(address));
    if (!lifted) throw new HttpError(404, 'NOT_FOUND', `${address} is not banned (its failed logins, if any, are forgotten all the same)`);
    logger.info({ client: lifted.address, users: lifted.users, failures: lifted.failures, offence: lifted.offence, bannedUntil: lifted.bannedUntil }, 'login ban lifted by an operator');
    res.json({ lifted });
  });
  return router;
}

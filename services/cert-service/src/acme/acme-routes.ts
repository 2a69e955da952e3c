import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { certApi } from '@st/contracts';
import { HttpError, writeFileAtomic } from '@st/service-kit';
import type { AcmeIssuer } from './acme-issuer.js';
import { acmeSettingsFromEnv, type AcmeSettings } from './acme-env.js';
import type { ChallengeBoard } from './challenge-board.js';

/** What PUT /acme takes: the same settings as the ACME_* variables, by name. */
export const acmeSettingsBodySchema = z
  .object({
    directoryUrl: z.string().min(1).max(2000),
    termsOfServiceAgreed: z.literal(true, { errorMap: () => ({ message: "must be true: no account is made unless the CA's terms are accepted" }) }),
    email: z.string().max(320).nullable().optional(),
    challenge: z.string().max(20).optional(),
    extraNames: z.array(z.string().max(253)).max(100).optional(),
    caFile: z.string().max(4096).nullable().optional(),
    renewDaysBefore: z.number().int().nullable().optional(),
  })
  .strict();

/** POST /acme/orders: activate the certificate once issued (default), or only store it. */
const orderBodySchema = z.object({ activate: z.boolean().optional() }).strict();

/** Settings given through the API, which outlive a restart and then win over the ACME_* variables. */
export function storedSettingsPath(dataDir: string): string {
  return join(dataDir, 'acme', 'settings.json');
}

/**
 * Settings given through the API earlier, checked again by the same rules;
 * a file that no longer passes is reported and ignored (the ACME_* variables
 * apply), never half used.
 */
export async function readStoredSettings(dataDir: string, serverName: string): Promise<{ settings: AcmeSettings | null; problem: string | null }> {
  let text: string;
  try {
    text = await readFile(storedSettingsPath(dataDir), 'utf8');
  } catch {
    return { settings: null, problem: null };
  }
  try {
    const stored = JSON.parse(text) as Partial<AcmeSettings>;
    const settings = settingsFromBody(
      {
        directoryUrl: String(stored.directoryUrl ?? ''),
        termsOfServiceAgreed: true,
        email: stored.email ?? null,
        ...(stored.challenge ? { challenge: stored.challenge } : {}),
        extraNames: Array.isArray(stored.extraNames) ? stored.extraNames.map(String) : [],
        caFile: stored.caFile ?? null,
        renewDaysBefore: stored.renewDaysBefore ?? null,
      },
      serverName,
    );
    return { settings, problem: null };
  } catch (error) {
    return { settings: null, problem: `${storedSettingsPath(dataDir)} is ignored: ${(error as Error).message}` };
  }
}

/** The body in the variables' terms, so that both are checked by the one set of rules. */
function settingsFromBody(body: z.infer<typeof acmeSettingsBodySchema>, serverName: string): AcmeSettings {
  const result = acmeSettingsFromEnv({
    SERVER_NAME: serverName,
    ACME_DIRECTORY_URL: body.directoryUrl,
    ACME_TERMS_AGREED: 'true',
    ACME_EMAIL: body.email ?? undefined,
    ACME_CHALLENGE: body.challenge,
    ACME_EXTRA_NAMES: body.extraNames?.join(','),
    ACME_CA_FILE: body.caFile ?? undefined,
    ACME_RENEW_DAYS_BEFORE: body.renewDaysBefore === null || body.renewDaysBefore === undefined ? undefined : String(body.renewDaysBefore),
  });
  if (result.kind !== 'on') {
    const problems = result.kind === 'invalid' ? result.problems.map((problem) => problem.replace(/^ACME_[A-Z_]+: /, '')) : ['directoryUrl: empty'];
    throw new HttpError(400, 'INVALID_REQUEST', `invalid ACME settings: ${problems.join('; ')}`, { problems });
  }
  return result.settings;
}

export interface AcmeRouteOptions {
  issuer: () => AcmeIssuer | null;
  board: ChallengeBoard;
  dataDir: string;
  serverName: string;
  admin: RequestHandler;
  /** Gateways (service token) and operators. */
  gatewayOrAdmin: RequestHandler;
  json: RequestHandler;
  /** Starts ACME with settings given through the API when it was off. */
  enable: (settings: AcmeSettings) => Promise<AcmeIssuer>;
  /** Tells the gateways to fetch the bundle again (it says whether they answer TLS-ALPN-01). */
  announce: () => Promise<void>;
}

export function acmeRoutes(options: AcmeRouteOptions): Router {
  const router = Router();
  const issuer = (): AcmeIssuer => {
    const current = options.issuer();
    if (!current) throw new HttpError(404, 'ACME_NOT_CONFIGURED', 'ACME is not configured: set ACME_DIRECTORY_URL and ACME_TERMS_AGREED=true (or PUT /acme)');
    return current;
  };

  router.get(certApi.acme, options.admin, async (_req, res) => {
    res.json(issuer().status());
  });
  router.put(certApi.acme, options.admin, options.json, async (req, res) => {
    const parsed = acmeSettingsBodySchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
      throw new HttpError(400, 'INVALID_REQUEST', `invalid request body: ${problems.join('; ')}`, { problems });
    }
    const settings = settingsFromBody(parsed.data, options.serverName);
    if (settings.caFile) {
      try {
        await readFile(settings.caFile, 'utf8');
      } catch (error) {
        throw new HttpError(400, 'INVALID_REQUEST', `caFile: ${settings.caFile} cannot be read by cert-service (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    await writeFileAtomic(storedSettingsPath(options.dataDir), `${JSON.stringify(settings, null, 2)}\n`, 0o600);
    const current = options.issuer();
    if (current) {
      current.reconfigure(settings);
      await options.announce();
    } else await options.enable(settings);
    res.json(issuer().status());
  });
  router.get(certApi.acmeOrders, options.admin, (_req, res) => {
    res.json({ orders: issuer().orders() });
  });
  router.post(certApi.acmeOrders, options.admin, options.json, (req, res) => {
    const parsed = orderBodySchema.safeParse(req.body ?? {});
    if (!parsed.success) throw new HttpError(400, 'INVALID_REQUEST', 'invalid request body: the only field is "activate" (true or false)');
    const current = issuer();
    if (current.busy) throw new HttpError(409, 'ACME_ORDER_RUNNING', 'an order is already running; see GET /acme/orders');
    res.status(202).json({ order: current.orderNow('operator', parsed.data.activate ?? true) });
  });
  router.get(certApi.acmeOrder, options.admin, (req, res) => {
    const order = issuer().order(String(req.params.id ?? ''));
    if (!order) throw new HttpError(404, 'NOT_FOUND', 'no such ACME order');
    res.json({ order });
  });
  router.get(certApi.acmeHttpChallenge, options.gatewayOrAdmin, (req, res) => {
    const answer = options.board.httpAnswer(String(req.params.token ?? ''));
    if (answer === null) throw new HttpError(404, 'NOT_FOUND', 'no pending challenge with this token');
    res.set('Cache-Control', 'no-store').json({ keyAuthorization: answer });
  });
  router.get(certApi.acmeAlpnChallenge, options.gatewayOrAdmin, (req, res) => {
    const answer = options.board.alpnAnswer(String(req.params.name ?? ''));
    if (answer === null) throw new HttpError(404, 'NOT_FOUND', 'no pending challenge for this name');
    res.set('Cache-Control', 'no-store').json(answer);
  });
  return router;
}

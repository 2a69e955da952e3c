/** HTTP paths served by each service; clients import these instead of spelling them. */
export const configApi = {
  portMap: '/portmap',
  /** GET the current version; PUT a whole document; PATCH a JSON merge patch (RFC 7396). */
  settings: '/settings',
  settingsVersions: '/settings/versions',
  settingsVersion: '/settings/versions/:version',
  /** POST { version, comment? }: a new version with the settings of an older one. */
  rollback: '/settings/rollback',
  /** The stunnel configuration equivalent to the current settings. */
  stunnelConfig: '/render/stunnel.conf',
  /** Ports to open or forward, as JSON. */
  publicPorts: '/render/ports',
  /** Firewall rules, `?format=nftables|iptables|ufw`. */
  firewallRules: '/render/firewall',
  /** The latest report of every gateway replica: what it applied, when it was last heard of. */
  gateways: '/gateways',
  /** Client addresses banned by the login defender (GET), one ban lifted (DELETE /login-bans/:address). */
  loginBans: '/login-bans',
  loginBan: '/login-bans/:address',
} as const;

/** Carries a change's reason into the version history (PUT, PATCH). */
export const changeCommentHeader = 'x-change-comment';

/**
 * cert-service routes. Paths with `:id` are Express patterns; build a concrete
 * path with `apiPath`. Where a certificate id is expected, `active` names the
 * active certificate.
 */
export const certApi = {
  activeBundle: '/bundle/active',
  certificates: '/certificates',
  selfSigned: '/certificates/self-signed',
  validate: '/certificates/validate',
  certificate: '/certificates/:id',
  activate: '/certificates/:id/activate',
  /** Serve it beside the active certificate (a key of the other kind: ECDSA beside RSA or the reverse). */
  activateAlongside: '/certificates/:id/activate-alongside',
  /** Stop serving the certificate active alongside. */
  deactivate: '/certificates/:id/deactivate',
  exportCertificate: '/certificates/:id/stunnel.cert',
  exportKey: '/certificates/:id/stunnel.cert.key',
  requests: '/requests',
  request: '/requests/:id',
  requestCsr: '/requests/:id/csr',
  /** ACME (RFC 8555): the account and directory in use, orders started by hand or by renewal. */
  acme: '/acme',
  acmeOrders: '/acme/orders',
  acmeOrder: '/acme/orders/:id',
  /** What a gateway answers to an HTTP-01 challenge request for a pending token (service token). */
  acmeHttpChallenge: '/acme/challenges/http-01/:token',
  /** The certificate a gateway presents to a TLS-ALPN-01 validation of a name (service token). */
  acmeAlpnChallenge: '/acme/challenges/tls-alpn-01/:name',
} as const;

/** The id alias that names the active certificate in certApi paths. */
export const activeCertificateAlias = 'active';

/** Fills the `:name` parameters of an API path pattern, URL-encoded. */
export function apiPath(pattern: string, params: Record<string, string>): string {
  return pattern.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`apiPath: no value for :${name} in ${pattern}`);
    return encodeURIComponent(value);
  });
}

export const healthApi = {
  live: '/health/live',
  ready: '/health/ready',
} as const;

/** Names of the bearer tokens; each may also come from `<NAME>_FILE`. */
export const tokenEnv = {
  admin: 'ADMIN_TOKEN',
  operator: 'OPERATOR_TOKEN',
  service: 'SERVICE_TOKEN',
} as const;

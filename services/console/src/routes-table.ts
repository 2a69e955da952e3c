/**
 * What the console passes on to the services, and what each call is: a read
 * (any signed-in role), a preview that stores nothing (any role), a change
 * (admin only, logged) or a secret (admin only, logged). One table, so a
 * route cannot be added without saying which it is.
 */
export type Backend = 'config' | 'cert' | 'logs';
export type CallKind = 'read' | 'preview' | 'change' | 'secret';

export interface ProxyRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Express pattern under /api. */
  path: string;
  backend: Backend;
  /** The service's path with the same `:params`. */
  target: string;
  kind: CallKind;
  /** What the change log calls it. */
  action: string;
}

export const proxyRoutes: readonly ProxyRoute[] = [
  { method: 'GET', path: '/api/config/settings', backend: 'config', target: '/settings', kind: 'read', action: 'read settings' },
  { method: 'PATCH', path: '/api/config/settings', backend: 'config', target: '/settings', kind: 'change', action: 'change settings' },
  { method: 'GET', path: '/api/config/settings/versions', backend: 'config', target: '/settings/versions', kind: 'read', action: 'read history' },
  { method: 'GET', path: '/api/config/settings/versions/:version', backend: 'config', target: '/settings/versions/:version', kind: 'read', action: 'read a version' },
  { method: 'POST', path: '/api/config/settings/rollback', backend: 'config', target: '/settings/rollback', kind: 'change', action: 'roll back settings' },
  { method: 'GET', path: '/api/config/portmap', backend: 'config', target: '/portmap', kind: 'read', action: 'read port map' },
  { method: 'GET', path: '/api/config/render/ports', backend: 'config', target: '/render/ports', kind: 'read', action: 'read ports' },
  { method: 'GET', path: '/api/config/render/firewall', backend: 'config', target: '/render/firewall', kind: 'read', action: 'read firewall rules' },
  { method: 'GET', path: '/api/config/render/stunnel.conf', backend: 'config', target: '/render/stunnel.conf', kind: 'read', action: 'read stunnel.conf' },
  { method: 'GET', path: '/api/config/login-bans', backend: 'config', target: '/login-bans', kind: 'read', action: 'list login bans' },
  { method: 'DELETE', path: '/api/config/login-bans/:address', backend: 'config', target: '/login-bans/:address', kind: 'change', action: 'lift login ban' },

  { method: 'GET', path: '/api/cert/certificates', backend: 'cert', target: '/certificates', kind: 'read', action: 'list certificates' },
  { method: 'POST', path: '/api/cert/certificates', backend: 'cert', target: '/certificates', kind: 'change', action: 'load certificate' },
  { method: 'POST', path: '/api/cert/certificates/self-signed', backend: 'cert', target: '/certificates/self-signed', kind: 'change', action: 'generate self-signed certificate' },
  { method: 'POST', path: '/api/cert/certificates/validate', backend: 'cert', target: '/certificates/validate', kind: 'preview', action: 'check certificate' },
  { method: 'GET', path: '/api/cert/certificates/:id', backend: 'cert', target: '/certificates/:id', kind: 'read', action: 'read certificate' },
  { method: 'DELETE', path: '/api/cert/certificates/:id', backend: 'cert', target: '/certificates/:id', kind: 'change', action: 'delete certificate' },
  { method: 'POST', path: '/api/cert/certificates/:id/activate', backend: 'cert', target: '/certificates/:id/activate', kind: 'change', action: 'activate certificate' },
  { method: 'POST', path: '/api/cert/certificates/:id/activate-alongside', backend: 'cert', target: '/certificates/:id/activate-alongside', kind: 'change', action: 'activate certificate alongside' },
  { method: 'POST', path: '/api/cert/certificates/:id/deactivate', backend: 'cert', target: '/certificates/:id/deactivate', kind: 'change', action: 'stop certificate alongside' },
  { method: 'GET', path: '/api/cert/certificates/:id/stunnel.cert', backend: 'cert', target: '/certificates/:id/stunnel.cert', kind: 'read', action: 'export certificate' },
  { method: 'GET', path: '/api/cert/certificates/:id/stunnel.cert.key', backend: 'cert', target: '/certificates/:id/stunnel.cert.key', kind: 'secret', action: 'export private key' },
  { method: 'GET', path: '/api/cert/requests', backend: 'cert', target: '/requests', kind: 'read', action: 'list requests' },
  { method: 'POST', path: '/api/cert/requests', backend: 'cert', target: '/requests', kind: 'change', action: 'create CSR' },
  { method: 'GET', path: '/api/cert/requests/:id/csr', backend: 'cert', target: '/requests/:id/csr', kind: 'read', action: 'download CSR' },
  { method: 'DELETE', path: '/api/cert/requests/:id', backend: 'cert', target: '/requests/:id', kind: 'change', action: 'delete request' },

  { method: 'GET', path: '/api/logs', backend: 'logs', target: '/logs', kind: 'read', action: 'query logs' },
  { method: 'GET', path: '/api/logs/summary', backend: 'logs', target: '/logs/summary', kind: 'read', action: 'log summary' },
];

/** A settings change with `dryRun=true` stores nothing: it is a preview, open to operators too. */
export function callKind(route: ProxyRoute, query: Record<string, unknown>): CallKind {
  if (route.kind === 'change' && route.backend === 'config' && route.method === 'PATCH' && query.dryRun === 'true') return 'preview';
  return route.kind;
}

/** Fills `:name` parameters, URL-encoded. */
export function targetPath(pattern: string, params: Record<string, string | string[] | undefined>): string {
  return pattern.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
    const value = params[name];
    return encodeURIComponent(Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));
  });
}

/** HTTP paths served by each service; clients import these instead of spelling them. */
export const configApi = {
  portMap: '/portmap',
  settings: '/settings',
} as const;

export const certApi = {
  activeBundle: '/bundle/active',
  certificates: '/certificates',
} as const;

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

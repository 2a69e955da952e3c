import { isIP } from 'node:net';
import { defaultServerSettings, formatRange, rangeSize, rangesOverlap, serverSettingsSchema, type PortRange, type ServerSettings } from '@st/contracts';
import { parseAddressRange } from '@st/login-bans';
import { isJsonObject } from './json-object.js';
import { publicPassiveRange, singlePort } from './port-map.js';

/** One problem with the settings, attached to the field it concerns (dotted path, e.g. `public.ftpsPort`). */
export interface SettingsProblem {
  field: string;
  message: string;
}

export interface SettingsReport {
  errors: SettingsProblem[];
  warnings: SettingsProblem[];
}

type SettingsIssue = NonNullable<ReturnType<typeof serverSettingsSchema.safeParse>['error']>['issues'][number];

function describeIssue(issue: SettingsIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.received === 'undefined') return 'is required';
      if (issue.expected === 'integer') return `must be a whole number (got ${issue.received})`;
      return `must be ${issue.expected === 'object' ? 'an object' : issue.expected === 'array' ? 'an array' : `a ${issue.expected}`} (got ${issue.received})`;
    case 'invalid_enum_value':
      return `must be one of ${issue.options.map((option) => JSON.stringify(option)).join(', ')} (got ${JSON.stringify(issue.received)})`;
    default:
      return issue.message;
  }
}

export function schemaProblems(input: unknown): SettingsProblem[] {
  const parsed = serverSettingsSchema.safeParse(input);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : '(settings)',
    message: describeIssue(issue),
  }));
}

/** Hosts that are this machine whatever the interface: a listener here and the upstream would share ports. */
export function isLoopbackHost(host: string): boolean {
  const name = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.') || name === '0.0.0.0';
  if (isIP(name) === 6) {
    // The URL parser compresses every spelling of an IPv6 address to one form.
    const compressed = new URL(`http://[${name}]/`).hostname.slice(1, -1);
    return compressed === '::1' || compressed === '::' || /^::ffff:(127\.|7f)/.test(compressed);
  }
  return false;
}

const hostNamePattern = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function isHostOrAddress(value: string): boolean {
  const unbracketed = /^\[(.*)\]$/.exec(value)?.[1];
  if (unbracketed !== undefined) return isIP(unbracketed) === 6;
  return isIP(value) !== 0 || hostNamePattern.test(value);
}

/** A port or range a listener claims, with the field that sets it. */
interface Claim {
  field: string;
  label: string;
  range: PortRange;
}

function describeClaim(claim: Claim): string {
  return `${claim.label} ${formatRange(claim.range)}`;
}

function publicClaims(settings: ServerSettings, passive: PortRange | null): Claim[] {
  const claims: Claim[] = [];
  if (settings.upstream.web.enabled) {
    claims.push({ field: 'public.httpsPort', label: 'HTTPS port', range: singlePort(settings.public.httpsPort) });
  }
  if (settings.upstream.ftp.enabled) {
    claims.push({ field: 'public.ftpsPort', label: 'FTPS control port', range: singlePort(settings.public.ftpsPort) });
    if (settings.public.explicitFtpsPort !== null) {
      claims.push({ field: 'public.explicitFtpsPort', label: 'explicit FTPS (AUTH TLS) port', range: singlePort(settings.public.explicitFtpsPort) });
    }
    if (passive) {
      const field = settings.public.passiveRange ? 'public.passiveRange' : 'public.passiveOffset';
      claims.push({ field, label: 'public passive range', range: passive });
    }
  }
  return claims;
}

function upstreamClaims(settings: ServerSettings): Claim[] {
  const claims: Claim[] = [];
  const { web, ftp } = settings.upstream;
  if (web.enabled) claims.push({ field: 'upstream.web.port', label: 'upstream web port', range: singlePort(web.port) });
  if (ftp.enabled) {
    claims.push({ field: 'upstream.ftp.port', label: 'upstream FTP port', range: singlePort(ftp.port) });
    claims.push({ field: 'upstream.ftp.passiveRange', label: 'upstream passive range', range: ftp.passiveRange });
  }
  return claims;
}

/** The public passive range when FTP is on and the range fits in 1..65535; otherwise null with the errors why. */
function checkPassiveRange(settings: ServerSettings, errors: SettingsProblem[]): PortRange | null {
  const { ftp } = settings.upstream;
  if (!ftp.enabled) return null;
  const range = publicPassiveRange(settings);
  if (!settings.public.passiveRange) {
    const offset = settings.public.passiveOffset;
    if (range.to > 65535) {
      errors.push({
        field: 'public.passiveOffset',
        message: `offset ${offset} moves upstream passive port ${ftp.passiveRange.to} to ${range.to}, past 65535`,
      });
      return null;
    }
    if (range.from < 1) {
      errors.push({
        field: 'public.passiveOffset',
        message: `offset ${offset} moves upstream passive port ${ftp.passiveRange.from} to ${range.from}, below 1`,
      });
      return null;
    }
  } else if (rangeSize(range) < rangeSize(ftp.passiveRange)) {
    errors.push({
      field: 'public.passiveRange',
      message:
        `public passive range ${formatRange(range)} has ${rangeSize(range)} ports but the upstream passive range ` +
        `${formatRange(ftp.passiveRange)} has ${rangeSize(ftp.passiveRange)}: it needs at least as many ports`,
    });
  }
  return range;
}

/** Rules that need several fields at once; only run on settings that passed the schema. */
function crossFieldReport(settings: ServerSettings): SettingsReport {
  const errors: SettingsProblem[] = [];
  const warnings: SettingsProblem[] = [];
  const passive = checkPassiveRange(settings, errors);
  const claims = publicClaims(settings, passive);

  claims.forEach((claim, index) => {
    for (const earlier of claims.slice(0, index)) {
      if (rangesOverlap(claim.range, earlier.range)) {
        errors.push({
          field: claim.field,
          message: `${describeClaim(claim)} collides with ${earlier.field} (${describeClaim(earlier)}): two public listeners cannot share a port`,
        });
      }
    }
  });

  // Hosts end up in socket calls, log lines and rendered files: only addresses and host names get that far.
  for (const [field, value] of [
    ['upstream.host', settings.upstream.host],
    ['public.bindHost', settings.public.bindHost],
  ] as const) {
    if (!isHostOrAddress(value)) errors.push({ field, message: `${JSON.stringify(value)} is neither an IP address nor a host name` });
  }

  const { host } = settings.upstream;
  const sameHost = isLoopbackHost(host) || host.trim().toLowerCase() === settings.public.bindHost.trim().toLowerCase();
  if (sameHost) {
    for (const claim of claims) {
      for (const upstream of upstreamClaims(settings)) {
        if (rangesOverlap(claim.range, upstream.range)) {
          errors.push({
            field: claim.field,
            message:
              `${describeClaim(claim)} overlaps ${upstream.field} (${describeClaim(upstream)}); ` +
              `upstream.host ${host} is this machine, so both cannot listen on the same port`,
          });
        }
      }
    }
  }

  const address = settings.public.address;
  if (address !== null) {
    if (isIP(address) === 6) {
      errors.push({ field: 'public.address', message: `${address} is IPv6; passive (227) replies can only announce an IPv4 address or a host name` });
    } else if (isIP(address) === 0 && !hostNamePattern.test(address)) {
      errors.push({ field: 'public.address', message: `"${address}" is neither an IPv4 address nor a host name` });
    }
  }

  const defender = settings.loginDefender;
  defender.allowList.forEach((entry, index) => {
    const parsed = parseAddressRange(entry);
    if (!parsed.ok) errors.push({ field: `loginDefender.allowList.${index}`, message: parsed.message });
  });
  settings.proxyProtocol.trustedProxies.forEach((entry, index) => {
    const parsed = parseAddressRange(entry);
    if (!parsed.ok) errors.push({ field: `proxyProtocol.trustedProxies.${index}`, message: parsed.message });
  });
  if (defender.maxBanMs < defender.banMs) {
    errors.push({ field: 'loginDefender.maxBanMs', message: `${defender.maxBanMs} ms is shorter than the first ban (loginDefender.banMs ${defender.banMs} ms); bans only grow` });
  }

  for (const claim of claims) {
    if (claim.range.from < 1024) {
      warnings.push({
        field: claim.field,
        message: `${describeClaim(claim)} is privileged (below 1024): binding it needs root or CAP_NET_BIND_SERVICE`,
      });
    }
  }
  if (!settings.upstream.web.enabled && !settings.upstream.ftp.enabled) {
    warnings.push({ field: 'upstream', message: 'web and FTP are both disabled: the gateway will open no listener' });
  }
  return { errors, warnings };
}

/**
 * Checks settings from any source (file, env, a later PUT). Schema violations
 * come first; the cross-field rules run only on settings that fit the schema.
 */
export function validateSettings(settings: unknown): SettingsReport {
  const unknown = unknownFields(settings, defaultServerSettings, []);
  const parsed = serverSettingsSchema.safeParse(settings);
  if (!parsed.success || unknown.length > 0) return { errors: [...unknown, ...(parsed.success ? [] : schemaProblems(settings))], warnings: [] };
  return crossFieldReport(parsed.data);
}

/**
 * Keys the settings do not have. The schema alone would drop them silently,
 * and a misspelt field ("ftpPort") would then look accepted while changing nothing.
 */
function unknownFields(input: unknown, shape: unknown, path: string[]): SettingsProblem[] {
  if (!isJsonObject(input) || !isJsonObject(shape)) return [];
  return Object.entries(input).flatMap(([key, value]) => {
    const field = [...path, key];
    if (!Object.hasOwn(shape, key)) return [{ field: field.join('.'), message: 'is not a setting (misspelt?)' }];
    return unknownFields(value, shape[key], field);
  });
}

export function formatProblem(problem: SettingsProblem): string {
  return `${problem.field}: ${problem.message}`;
}

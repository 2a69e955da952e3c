import { formatReply } from './commands.js';
import type { FtpReply } from './reply-parser.js';

// Features that cannot work through a gateway that terminates TLS itself and
// only offers passive mode: security exchanges with the upstream (AUTH, ADAT,
// MIC, CONF, ENC, CCC), active mode (EPRT, LPRT), and passive variants whose
// replies it cannot rewrite (LPSV, SSCN, CPSV).
const droppedFeatures = new Set(['AUTH', 'CCC', 'ADAT', 'MIC', 'CONF', 'ENC', 'EPRT', 'LPRT', 'LPSV', 'SSCN', 'CPSV']);

// The gateway answers these itself, so they are advertised whatever the upstream says.
const gatewayFeatures = ['PBSZ', 'PROT'];

/**
 * The FEAT reply the client gets, given the upstream's (RFC 2389: 211
 * multi-line, one feature per line starting with a space) or null when the
 * upstream does not support FEAT. On an explicit FTPS port the gateway also
 * answers AUTH TLS itself and says so (RFC 4217 §6: " AUTH TLS").
 */
export function rewriteFeatReply(reply: FtpReply | null, options: { authTls?: boolean } = {}): string {
  const upstreamLines = reply !== null && reply.code === 211 ? reply.lines.slice(1, -1) : [];
  const kept: string[] = [];
  const seen = new Set<string>();
  for (const line of upstreamLines) {
    const name = line.trim().split(/\s+/)[0]?.toUpperCase() ?? '';
    if (droppedFeatures.has(name)) continue;
    if (gatewayFeatures.includes(name)) {
      if (seen.has(name)) continue;
      seen.add(name);
    }
    kept.push(line);
  }
  if (options.authTls) kept.push(' AUTH TLS');
  for (const name of gatewayFeatures) if (!seen.has(name)) kept.push(` ${name}`);
  return formatReply(211, ['Features:', ...kept, 'End']);
}

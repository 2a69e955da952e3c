import { formatReply } from './commands.js';

/** RFC 2228 data channel state on a control connection that is already TLS. */
export interface ProtectionState {
  pbszReceived: boolean;
  level: 'C' | 'P';
}

export interface DataProtectionPolicy {
  /** PROT C is refused with 534 unless this is set. */
  allowClearData: boolean;
}

export interface ProtectionResult {
  reply: string;
  state: ProtectionState;
}

/** RFC 4217 §9: until PROT P, data connections are clear. */
export const initialProtection: ProtectionState = Object.freeze({ pbszReceived: false, level: 'C' });

export function handlePbsz(state: ProtectionState, argument: string): ProtectionResult {
  if (!/^\d+$/.test(argument.trim())) return { reply: formatReply(501, 'Syntax error: PBSZ needs a number'), state };
  // RFC 4217 §9: TLS is a stream, it has no buffer size; whatever the client asks, 0 is the answer.
  return { reply: formatReply(200, 'PBSZ=0'), state: { ...state, pbszReceived: true } };
}

export function handleProt(state: ProtectionState, argument: string, policy: DataProtectionPolicy): ProtectionResult {
  if (!state.pbszReceived) return { reply: formatReply(503, 'PBSZ required before PROT'), state };
  // Client input is echoed only once it is known to be one letter: a reply is relayed verbatim.
  const level = argument.trim().toUpperCase();
  switch (level) {
    case 'P':
      return { reply: formatReply(200, 'Data channel protection level set to Private'), state: { ...state, level: 'P' } };
    case 'C':
      if (policy.allowClearData) {
        return { reply: formatReply(200, 'Data channel protection level set to Clear'), state: { ...state, level: 'C' } };
      }
      return {
        reply: formatReply(534, 'PROT C refused by policy: data connections must be protected with PROT P'),
        state,
      };
    case 'S':
    case 'E':
      // RFC 4217 §9: TLS offers no integrity-only or confidentiality-only level.
      return { reply: formatReply(536, `PROT ${level} not supported by TLS; use PROT P`), state };
    default:
      return { reply: formatReply(504, 'Unknown protection level; use PROT P'), state };
  }
}

export function dataConnectionAllowed(state: ProtectionState, policy: DataProtectionPolicy): boolean {
  return state.level === 'P' || (state.level === 'C' && policy.allowClearData);
}

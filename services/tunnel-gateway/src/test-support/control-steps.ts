import { CommandSplitter, ReplyParser, type FtpCommand } from '@st/ftp-protocol';
import { step, type ControlEffect, type ControlEnv, type ControlEvent, type ControlState } from '../ftp/control-machine.js';

/** A command line as the splitter makes it from the wire. */
export function ftpCommand(line: string): FtpCommand {
  const [result] = new CommandSplitter(4096).push(Buffer.from(`${line}\r\n`));
  if (result?.kind !== 'command') throw new Error(`not a command: ${line}`);
  return result.command;
}

/**
 * Runs the control machine over events from a state; every effect in order.
 * The login defender lets every password through at once (as the session
 * does for an address it does not know) unless `loginChecks` is 'manual':
 * then the events must answer the checks themselves.
 */
export function runSteps(events: readonly ControlEvent[], from: ControlState, env: ControlEnv, loginChecks: 'allow' | 'manual' = 'allow'): { state: ControlState; effects: ControlEffect[] } {
  let state = from;
  const effects: ControlEffect[] = [];
  const apply = (event: ControlEvent) => {
    const next = step(state, event, env);
    state = next.state;
    effects.push(...next.effects);
    if (loginChecks === 'allow' && next.effects.some((effect) => effect.type === 'check-login')) apply({ type: 'login-allowed' });
  };
  for (const event of events) apply(event);
  return { state, effects };
}

/** One reply from the upstream as the parser makes it (several lines make a multi-line reply); null when the text is no complete reply. */
export function upstreamReply(...lines: string[]): ControlEvent | null {
  const [reply] = new ReplyParser().push(Buffer.from(lines.map((line) => `${line}\r\n`).join('')));
  return reply ? { type: 'upstream-reply', reply } : null;
}

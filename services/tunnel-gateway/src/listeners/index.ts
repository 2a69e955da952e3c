import type { Listener } from '@st/contracts';
import type { GatewayContext } from '../gateway-context.js';
import { openFtpControlListener } from './ftp-control-listener.js';
import { openFtpDataListener } from './ftp-data-listener.js';
import { openHttpsListener } from './https-listener.js';
import type { RunningListener } from './running-listener.js';

export type { RunningListener };

/** Opens the sockets of one port-map listener; rejects (having opened nothing) when one cannot be opened. */
export function openListener(spec: Listener, context: GatewayContext): Promise<RunningListener> {
  switch (spec.protocol) {
    case 'http':
      return openHttpsListener(spec, context);
    case 'ftp-control':
      return openFtpControlListener(spec, context);
    case 'ftp-data':
      return openFtpDataListener(spec, context);
  }
}

import type { Listener } from '@st/contracts';
import { planListenerChanges } from './listener-plan.js';

function listener(id: string, protocol: Listener['protocol'], from: number, to = from, upstreamHost = 'files'): Listener {
  return { id, protocol, tlsMode: 'implicit', bindHost: '0.0.0.0', ports: { from, to }, upstream: { host: upstreamHost, ports: { from: from - 1000, to: to - 1000 } } };
}

describe('planListenerChanges', () => {
  const https = listener('https', 'http', 1443);
  const ftps = listener('ftps', 'ftp-control', 1990);
  const data = listener('data', 'ftp-data', 4000, 4008);
  it.each([
    { desc: 'nothing running: open all', current: [], desired: [https, ftps], open: ['https', 'ftps'], close: [], keep: [] },
    { desc: 'same map: keep all', current: [https, ftps, data], desired: [https, ftps, data], open: [], close: [], keep: ['https', 'ftps', 'data'] },
    { desc: 'moved FTPS port: close old, open new', current: [https, ftps], desired: [https, listener('ftps', 'ftp-control', 2990)], open: ['ftps'], close: ['ftps'], keep: ['https'] },
    { desc: 'changed passive range is a new listener', current: [data], desired: [listener('data', 'ftp-data', 5000, 5008)], open: ['data'], close: ['data'], keep: [] },
    { desc: 'changed upstream host keeps the socket', current: [https], desired: [listener('https', 'http', 1443, 1443, 'other')], open: [], close: [], keep: ['https'] },
    { desc: 'tunnel disabled: close all', current: [https, ftps, data], desired: [], open: [], close: ['https', 'ftps', 'data'], keep: [] },
  ])('$desc', ({ current, desired, open, close, keep }) => {
    const plan = planListenerChanges(current, desired);
    expect(plan.open.map((l) => l.id)).toEqual(open);
    expect(plan.close.map((l) => l.id)).toEqual(close);
    expect(plan.keep.map((k) => k.to.id)).toEqual(keep);
  });

  it('carries the new upstream on kept listeners', () => {
    const plan = planListenerChanges([https], [listener('https', 'http', 1443, 1443, 'other')]);
    expect(plan.keep[0]?.to.upstream.host).toBe('other');
  });
});

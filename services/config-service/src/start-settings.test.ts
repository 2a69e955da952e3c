import type { ServerSettings } from '@st/contracts';
import { settingsAtStart } from './start-settings.js';
import { settingsWith, unprivileged } from './test-settings.js';

const seed = settingsWith(unprivileged);
const movedByApi = settingsWith((s) => {
  unprivileged(s);
  s.public.ftpsPort = 9991;
});

describe('settingsAtStart', () => {
  it.each([
    { desc: 'empty history: the seed', latest: undefined, previousSeed: null, today: seed, kind: 'first', ftps: 9990 },
    { desc: 'a port moved through the API survives a restart with the same environment', latest: movedByApi, previousSeed: seed, today: seed, kind: 'stored', ftps: 9991 },
    {
      desc: 'an environment variable changed since the last start is carried onto the current settings',
      latest: movedByApi,
      previousSeed: seed,
      today: settingsWith((s) => {
        unprivileged(s);
        s.public.httpsPort = 8444;
      }),
      kind: 'carried',
      ftps: 9991,
      https: 8444,
    },
    {
      desc: 'a change that would be invalid keeps the current settings',
      latest: movedByApi,
      previousSeed: seed,
      today: settingsWith((s) => {
        unprivileged(s);
        s.public.httpsPort = 9991;
      }),
      kind: 'invalid',
      ftps: 9991,
      https: 8443,
    },
    { desc: 'no seed recorded (older history): the stored settings', latest: movedByApi, previousSeed: null, today: seed, kind: 'stored', ftps: 9991 },
  ] as Array<{ desc: string; latest: ServerSettings | undefined; previousSeed: ServerSettings | null; today: ServerSettings; kind: string; ftps: number; https?: number }>)(
    '$desc',
    ({ latest, previousSeed, today, kind, ftps, https }) => {
      const start = settingsAtStart(latest, previousSeed, today);
      expect(start.kind).toBe(kind);
      expect(start.settings.public.ftpsPort).toBe(ftps);
      if (https !== undefined) expect(start.settings.public.httpsPort).toBe(https);
    },
  );
});

import { applyMergePatch, carryFields, changedFields, describeChange, jsonEqual } from './settings-changes.js';

describe('applyMergePatch (RFC 7396)', () => {
  it.each([
    { desc: 'replaces a leaf', target: { a: 1, b: 2 }, patch: { a: 3 }, expected: { a: 3, b: 2 } },
    { desc: 'merges nested objects', target: { a: { b: 1, c: 2 } }, patch: { a: { c: 3 } }, expected: { a: { b: 1, c: 3 } } },
    { desc: 'null removes a key', target: { a: 1, b: 2 }, patch: { a: null }, expected: { b: 2 } },
    { desc: 'an array replaces as a whole', target: { a: [1, 2] }, patch: { a: [3] }, expected: { a: [3] } },
    { desc: 'an object replaces a leaf', target: { a: 1 }, patch: { a: { b: 1 } }, expected: { a: { b: 1 } } },
    { desc: 'a leaf replaces an object', target: { a: { b: 1 } }, patch: { a: 5 }, expected: { a: 5 } },
    { desc: 'adds a key', target: {}, patch: { a: { b: 1 } }, expected: { a: { b: 1 } } },
    { desc: 'an empty patch changes nothing', target: { a: 1 }, patch: {}, expected: { a: 1 } },
    { desc: 'a non-object patch replaces the document', target: { a: 1 }, patch: 'x', expected: 'x' },
  ])('$desc', ({ target, patch, expected }) => {
    const before = structuredClone(target);
    expect(applyMergePatch(target, patch)).toEqual(expected);
    expect(target).toEqual(before);
  });

  it.each([
    { desc: 'null sets a nullable field', patch: { public: { passiveRange: null } }, expected: { public: { passiveRange: null, ftpsPort: 990 } } },
    { desc: 'null still removes a field that is not nullable', patch: { public: { ftpsPort: null } }, expected: { public: { passiveRange: { from: 1, to: 2 } } } },
  ])('$desc', ({ patch, expected }) => {
    const target = { public: { passiveRange: { from: 1, to: 2 }, ftpsPort: 990 } };
    expect(applyMergePatch(target, patch, (field) => field === 'public.passiveRange')).toEqual(expected);
  });

  it('keeps "__proto__" from JSON an ordinary key instead of changing the prototype', () => {
    const result = applyMergePatch({ a: 1 }, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(result.polluted).toBeUndefined();
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('changedFields', () => {
  it.each([
    { desc: 'equal documents', before: { a: 1, b: { c: 2 } }, after: { b: { c: 2 }, a: 1 }, expected: [] },
    { desc: 'one leaf', before: { a: { b: 1 } }, after: { a: { b: 2 } }, expected: [{ field: 'a.b', from: 1, to: 2 }] },
    {
      desc: 'a port range is one value',
      before: { r: { from: 3000, to: 3008 } },
      after: { r: { from: 3000, to: 3010 } },
      expected: [{ field: 'r', from: { from: 3000, to: 3008 }, to: { from: 3000, to: 3010 } }],
    },
    { desc: 'null to a range', before: { r: null }, after: { r: { from: 1, to: 2 } }, expected: [{ field: 'r', from: null, to: { from: 1, to: 2 } }] },
    { desc: 'an added key', before: {}, after: { a: true }, expected: [{ field: 'a', from: null, to: true }] },
    {
      desc: 'several fields in document order',
      before: { x: 1, y: { z: false } },
      after: { x: 2, y: { z: true } },
      expected: [
        { field: 'x', from: 1, to: 2 },
        { field: 'y.z', from: false, to: true },
      ],
    },
  ])('$desc', ({ before, after, expected }) => {
    expect(changedFields(before, after)).toEqual(expected);
  });
});

describe('carryFields', () => {
  it('sets only the changed fields and leaves the input alone', () => {
    const current = { public: { httpsPort: 8443, ftpsPort: 9999 }, tunnelEnabled: false };
    const result = carryFields(current, [{ field: 'public.httpsPort', from: 443, to: 9443 }]);
    expect(result).toEqual({ public: { httpsPort: 9443, ftpsPort: 9999 }, tunnelEnabled: false });
    expect(current.public.httpsPort).toBe(8443);
  });
});

describe('jsonEqual', () => {
  it.each([
    { desc: 'key order ignored', a: { a: 1, b: 2 }, b: { b: 2, a: 1 }, equal: true },
    { desc: 'missing key', a: { a: 1 }, b: { a: 1, b: undefined }, equal: false },
    { desc: 'null vs object', a: { a: null }, b: { a: {} }, equal: false },
    { desc: 'arrays by position', a: [1, 2], b: [2, 1], equal: false },
    { desc: 'number vs string', a: { a: 1 }, b: { a: '1' }, equal: false },
  ])('$desc', ({ a, b, equal }) => {
    expect(jsonEqual(a, b)).toBe(equal);
  });
});

describe('describeChange', () => {
  it.each([
    { change: { field: 'public.ftpsPort', from: 990, to: 9990 }, text: 'public.ftpsPort: 990 → 9990' },
    { change: { field: 'upstream.ftp.passiveRange', from: { from: 3000, to: 3008 }, to: { from: 5000, to: 5000 } }, text: 'upstream.ftp.passiveRange: 3000-3008 → 5000' },
    { change: { field: 'public.address', from: null, to: 'ftp.example.org' }, text: 'public.address: null → "ftp.example.org"' },
  ])('$text', ({ change, text }) => {
    expect(describeChange(change)).toBe(text);
  });
});

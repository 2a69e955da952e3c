import { parseByteRange } from './byte-range.js';

describe('parseByteRange', () => {
  it.each([
    { desc: 'no header', header: undefined, size: 100, expected: { kind: 'full' } },
    { desc: 'closed range', header: 'bytes=0-9', size: 100, expected: { kind: 'partial', start: 0, end: 9 } },
    { desc: 'one byte', header: 'bytes=5-5', size: 100, expected: { kind: 'partial', start: 5, end: 5 } },
    { desc: 'open end', header: 'bytes=90-', size: 100, expected: { kind: 'partial', start: 90, end: 99 } },
    { desc: 'end clamped to the size', header: 'bytes=90-1000', size: 100, expected: { kind: 'partial', start: 90, end: 99 } },
    { desc: 'suffix', header: 'bytes=-10', size: 100, expected: { kind: 'partial', start: 90, end: 99 } },
    { desc: 'suffix longer than the file', header: 'bytes=-1000', size: 100, expected: { kind: 'partial', start: 0, end: 99 } },
    { desc: 'spaces and upper case unit', header: 'Bytes = 1 - 2', size: 100, expected: { kind: 'partial', start: 1, end: 2 } },
    { desc: 'start at the size', header: 'bytes=100-', size: 100, expected: { kind: 'unsatisfiable' } },
    { desc: 'start past the size with an end', header: 'bytes=200-300', size: 100, expected: { kind: 'unsatisfiable' } },
    { desc: 'zero suffix', header: 'bytes=-0', size: 100, expected: { kind: 'unsatisfiable' } },
    { desc: 'any range of an empty file', header: 'bytes=0-', size: 0, expected: { kind: 'unsatisfiable' } },
    { desc: 'end before start is invalid, so ignored', header: 'bytes=9-0', size: 100, expected: { kind: 'full' } },
    { desc: 'several ranges are ignored', header: 'bytes=0-1,4-5', size: 100, expected: { kind: 'full' } },
    { desc: 'other unit is ignored', header: 'items=0-1', size: 100, expected: { kind: 'full' } },
    { desc: 'no numbers is ignored', header: 'bytes=-', size: 100, expected: { kind: 'full' } },
    { desc: 'garbage is ignored', header: 'bytes=a-b', size: 100, expected: { kind: 'full' } },
    { desc: 'huge numbers are ignored', header: 'bytes=0-99999999999999999999', size: 100, expected: { kind: 'full' } },
  ])('$desc', ({ header, size, expected }) => {
    expect(parseByteRange(header, size)).toEqual(expected);
  });
});

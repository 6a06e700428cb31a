import { describe, expect, it } from 'vitest';
import { parseGoDuration } from './go-duration.js';

describe('parseGoDuration', () => {
  it.each([
    ['120ms', 120],
    ['1s', 1000],
    ['6m0s', 360_000],
    ['23m16.298s', 1_396_298],
    ['1h2m3.5s', 3_723_500],
    ['1h0m0s', 3_600_000],
    ['0s', 0],
    ['0', 0],
    ['1.146s', 1146],
    ['500us', 0.5],
    ['500µs', 0.5], // U+00B5, as Go prints it
    ['500μs', 0.5], // U+03BC
    ['3ns', 0.000003],
    ['.5s', 500],
    ['1.s', 1000],
    ['-1.5s', -1500],
    ['+2ms', 2],
    [' 1s ', 1000],
  ])('%s -> %f ms', (input, ms) => {
    expect(parseGoDuration(input)).toBeCloseTo(ms, 9);
  });

  it.each(['', '1', '1x', 's', 'ms', '1 s', '1s2', '.s', '-', '1d', 'abc', '1.2.3s', '0x', 'NaNs'])('rejects %j', (input) => {
    expect(parseGoDuration(input)).toBeUndefined();
  });
});

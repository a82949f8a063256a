import { isPausedValue } from './settings';

describe('isPausedValue', () => {
  it.each([
    [true, true],
    ['true', true],
    [false, false],
    [null, false],
    [1, false],
    [{}, false],
  ])('%p → %p', (value, paused) => expect(isPausedValue(value)).toBe(paused));
});

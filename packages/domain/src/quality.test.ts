import fc from 'fast-check';
import { formatDestination, parseQualityOptions, QUALITY_FORMAT, qualityToMaxQuality } from './quality';

describe('parseQualityOptions', () => {
  it.each([
    ['360,480,720,1080,1440,2160,max', ['360', '480', '720', '1080', '1440', '2160', 'max']],
    [' 720 , MAX ', ['720', 'max']],
    ['max', ['max']],
    ['10,99999', ['10', '99999']],
    [Array.from({ length: 12 }, (_, n) => String(100 + n)).join(','), Array.from({ length: 12 }, (_, n) => String(100 + n))],
  ])('reads %p', (list, expected) => {
    expect(parseQualityOptions(list)).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['  ', /empty/],
    ['720,', /option 2/],
    ['720,,1080', /option 2/],
    ['720p', /option 1 \("720p"\).*10 to 99999, or max/],
    ['0', /option 1/],
    ['9', /option 1/],
    ['0720', /option 1/],
    ['100000', /option 1/],
    ['-720', /option 1/],
    ['1.5e3', /option 1/],
    ['720,720', /"720" is listed twice/],
    ['max,MAX', /"max" is listed twice/],
    [Array.from({ length: 13 }, (_, n) => String(100 + n)).join(','), /13 qualities; at most 12/],
  ])('refuses %p', (list, message) => {
    expect(() => parseQualityOptions(list)).toThrow(message);
  });

  it('yields only qualities that fit on a button', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (list) => {
        let options: string[];
        try {
          options = parseQualityOptions(list);
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
          return;
        }
        expect(options.length).toBeGreaterThanOrEqual(1);
        expect(options.length).toBeLessThanOrEqual(12);
        expect(new Set(options).size).toBe(options.length);
        for (const option of options) expect(option).toMatch(QUALITY_FORMAT);
      }),
    );
  });
});

describe('qualityToMaxQuality', () => {
  it.each<[string, number]>([
    ['720', 720],
    ['1080', 1080],
    ['480', 480],
    ['4320', 4320],
    ['max', 10000],
  ])('%s → %s', (quality, expected) => {
    expect(qualityToMaxQuality(quality)).toBe(expected);
  });

  it.each(['', 'best', '720p', '0', '-1', '123456'])('refuses the quality %p', (quality) => {
    expect(() => qualityToMaxQuality(quality)).toThrow(/not a quality/);
  });
});

describe('formatDestination', () => {
  it.each([
    ['alice', 'Music', '42', '[alice] Music'],
    ['alice', null, '42', 'alice'],
    ['alice', '', '42', 'alice'],
    ['alice', '   ', '42', 'alice'],
    [null, 'Music', '42', '[42] Music'],
    [null, null, '42', '42'],
    ['', null, '42', '42'],
    ['bob', ' Films ', '7', '[bob] Films'],
  ])('%p with folder %p (user %s) → %p', (username, folder, userId, expected) => {
    expect(formatDestination({ username, userId, folder })).toBe(expected);
  });
});

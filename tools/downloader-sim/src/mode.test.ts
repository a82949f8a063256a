import { isMode, MODES, ModeSwitch } from './mode';

describe('ModeSwitch', () => {
  it('starts in the configured mode', () => {
    const modes = new ModeSwitch('refuse');
    expect(modes.take()).toEqual({ mode: 'refuse' });
    expect(modes.current()).toEqual({ mode: 'refuse' });
    expect(modes.state()).toEqual({ mode: 'refuse' });
  });

  it('keeps a mode set without a count until changed', () => {
    const modes = new ModeSwitch('ok');
    modes.set('fail', undefined, 'disk full');
    expect([modes.take(), modes.take(), modes.take()]).toEqual([
      { mode: 'fail', message: 'disk full' },
      { mode: 'fail', message: 'disk full' },
      { mode: 'fail', message: 'disk full' },
    ]);
    expect(modes.current()).toEqual({ mode: 'fail', message: 'disk full' });
    modes.set('ok');
    expect(modes.take()).toEqual({ mode: 'ok' });
  });

  it('applies a counted mode to the next n SetToQueue calls only, then the standing mode again', () => {
    const modes = new ModeSwitch('ok');
    expect(modes.set('hang', 2)).toEqual({ mode: 'ok', override: { mode: 'hang', remaining: 2 } });
    // Other rpcs follow the standing mode: a counted fail does not make the downloader look down.
    expect(modes.current()).toEqual({ mode: 'ok' });
    expect(modes.take()).toEqual({ mode: 'hang' });
    expect(modes.state()).toEqual({ mode: 'ok', override: { mode: 'hang', remaining: 1 } });
    expect(modes.take()).toEqual({ mode: 'hang' });
    expect(modes.take()).toEqual({ mode: 'ok' });
    expect(modes.state()).toEqual({ mode: 'ok' });
  });

  it('returns to a standing mode other than ok after a count', () => {
    const modes = new ModeSwitch('fail');
    modes.set('ok', 1);
    expect(modes.take()).toEqual({ mode: 'ok' });
    expect(modes.take()).toEqual({ mode: 'fail' });
  });

  it('a standing mode set later cancels a pending count', () => {
    const modes = new ModeSwitch('ok');
    modes.set('fail', 5);
    modes.set('refuse');
    expect(modes.take()).toEqual({ mode: 'refuse' });
    expect(modes.state()).toEqual({ mode: 'refuse' });
  });

  it('resets to the configured mode', () => {
    const modes = new ModeSwitch('hang');
    modes.set('ok');
    modes.set('fail', 3);
    modes.reset();
    expect(modes.state()).toEqual({ mode: 'hang' });
  });

  it.each([0, -1, 1.5])('rejects count %p', (count) => {
    expect(() => new ModeSwitch('ok').set('fail', count)).toThrow(RangeError);
  });

  it('recognises modes', () => {
    expect(['ok', 'fail', 'refuse', 'hang', 'OK', '', 3].map(isMode)).toEqual([true, true, true, true, false, false, false]);
  });
});

describe('MODES', () => {
  it('has the network faults beside the downloader ones', () => {
    expect(MODES).toEqual(['ok', 'fail', 'refuse', 'hang', 'cut', 'late']);
    expect(isMode('cut') && isMode('late')).toBe(true);
  });
});

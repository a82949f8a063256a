// Preloaded (`node --require <this file> main.js`) into a program that stops cleanly on SIGTERM
// but knows nothing of SIGHUP or of its parent: the Telegram emulator's main, run by
// scripts/dwld.mjs in the sandbox. Here SIGHUP, and the IPC channel to the parent closing (the
// parent died, even by SIGKILL), become one SIGTERM to the process itself, so the program never
// outlives the runner that started it. Services need none of this: handleShutdown does the same.
let stopping = false;

const stopOnce = () => {
  if (stopping) return;
  stopping = true;
  process.kill(process.pid, 'SIGTERM');
};

// Only to know that a stop began (then nothing more is sent: a second signal would make the
// program exit without finishing its stop). While the program has no handler of its own yet (it
// is still starting), the signal gets its default effect: the process ends.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  const note = () => {
    stopping = true;
    if (process.listenerCount(signal) === 1) {
      process.removeListener(signal, note);
      process.kill(process.pid, signal);
    }
  };
  process.on(signal, note);
}
process.on('SIGHUP', stopOnce);
if (process.channel) {
  process.on('disconnect', stopOnce);
  // The channel only tells us when the parent is gone: it must not keep the process alive.
  process.channel.unref();
}

export {};

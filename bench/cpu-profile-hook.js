// For a look inside a benchmark, not for figures: `BENCH_NODE_OPTIONS="--require $PWD/bench/cpu-profile-hook.js"`
// makes every service the bench starts profile its whole life (V8's sampling profiler, every
// 200 µs) and write `<service>-<pid>.cpuprofile` when it exits, into /tmp/dwld-profiles (the
// bench gives services an environment of its own, so the folder is fixed here).
// `node bench/profile-summary.js /tmp/dwld-profiles scheduler` sums them up. (--cpu-prof itself
// is not allowed in NODE_OPTIONS.)
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const dir = '/tmp/dwld-profiles';
fs.mkdirSync(dir, { recursive: true });
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.start');
// services/<name>/dist/main.js → <name>
const service = path.basename(path.dirname(path.dirname(process.argv[1] || 'unknown')));
process.on('exit', () => {
  // A main-thread session answers at once, so the profile is written before the process ends.
  session.post('Profiler.stop', (err, result) => {
    if (!err) fs.writeFileSync(path.join(dir, `${service}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});

// `node bench/profile-summary.js <folder> [service]`: the CPU profiles cpu-profile-hook.js wrote,
// summed: busy time, the share of each package or file, and the project's own functions.
const fs = require('node:fs');
const path = require('node:path');

const [dir = '/tmp/dwld-profiles', service = ''] = process.argv.slice(2);
const byFunction = new Map();
const byPlace = new Map();
let total = 0;
let idle = 0;
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && f.startsWith(service))) {
  const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const self = new Map(profile.nodes.map((node) => [node.id, 0]));
  profile.samples.forEach((id, i) => self.set(id, self.get(id) + (profile.timeDeltas[i] ?? 0)));
  for (const node of profile.nodes) {
    const ms = self.get(node.id) / 1000;
    if (!ms) continue;
    total += ms;
    if (node.callFrame.functionName === '(idle)') idle += ms;
    const url = node.callFrame.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\/(\.pnpm\/)?/, 'npm:').replace(/.*\/(services|packages|tools)\//, '$1/');
    const place = url.startsWith('npm:') ? url.split('/').slice(0, 2).join('/') : url || node.callFrame.functionName;
    byPlace.set(place, (byPlace.get(place) ?? 0) + ms);
    if (/^(services|packages)\//.test(url)) {
      const key = `${node.callFrame.functionName || '(anonymous)'} ${url}:${node.callFrame.lineNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
    }
  }
}
const busy = total - idle;
const top = (map, n) =>
  [...map]
    .filter(([name]) => name !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ms]) => `${((ms / busy) * 100).toFixed(2).padStart(6)}% ${ms.toFixed(0).padStart(7)} ms  ${name}`)
    .join('\n');
console.log(`busy ${busy.toFixed(0)} ms (idle ${idle.toFixed(0)} ms)\n${top(byPlace, 25)}\n-- the project's own functions\n${top(byFunction, 25)}`);

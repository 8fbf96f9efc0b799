/**
 * `npm run bench -- <name>`: runs one benchmark, prints its figures and writes them to
 * tests/bench/results/<name>.json. Benchmarks are measurements, not tests: they assert nothing.
 */
import { warnIfNotPinnedNode } from '../../scripts/node-version.mjs';

const benches: Record<string, () => Promise<void>> = {
  terminal: async () => (await import('./terminal')).runTerminalBench(),
  inventory: async () => {
    const m = await import('./inventory');
    if (process.argv.includes('--browser-only')) await m.benchInventoryBrowserOnly();
    else await m.benchInventory({ browser: !process.argv.includes('--no-browser') });
  },
  connect: async () => void (await (await import('./connect')).benchConnect()),
  startup: async () => (await import('./startup')).benchStartup(),
  files: async () => {
    const arg = (name: string) => {
      const i = process.argv.indexOf(name);
      return i > 0 ? process.argv[i + 1] : undefined;
    };
    const only = arg('--only');
    if (only !== undefined && only !== 'big' && only !== 'small' && only !== 'bigUp') throw new Error('--only takes big, small or bigUp');
    const ms = arg('--ms');
    const bigMB = arg('--big-mb');
    const rounds = arg('--rounds');
    if (rounds !== undefined && !(Number.isInteger(Number(rounds)) && Number(rounds) >= 1)) throw new Error('--rounds takes a whole number of 1 or more');
    await (await import('./files')).benchFiles({
      quick: process.argv.includes('--quick'),
      only,
      ms: ms !== undefined ? Number(ms) : undefined,
      bigMB: bigMB !== undefined ? Number(bigMB) : undefined,
      cpuProf: arg('--cpu-prof'),
      noScp: process.argv.includes('--no-scp'),
      rounds: rounds !== undefined ? Number(rounds) : undefined,
    });
  },
  fleet: async () => void (await (await import('./fleet')).benchFleet({ quick: process.argv.includes('--quick') })),
  'host-tree': async () => (await import('./host-tree')).benchHostTree({ quick: process.argv.includes('--quick') }),
  bridge: async () => void (await (await import('./bridge')).benchBridge({ quick: process.argv.includes('--quick') })),
};

const which = process.argv[2];
const bench = which ? benches[which] : undefined;
if (!bench) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}>\n`);
  process.exit(2);
}
// Figures from another Node are not comparable: say so here, and each results file records the version.
warnIfNotPinnedNode();
bench().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`benchmark ${which} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

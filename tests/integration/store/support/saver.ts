/**
 * A Keyless process that only saves hosts, for the store's crash and concurrency tests.
 *   counter <home>        saves host "counter" with name n-1, n-2, … forever, printing each number once saved
 *   add <home> <prefix> <n>  adds n hosts named <prefix>-0 … one save at a time, then prints "done"
 */
import { HostStore } from '../../../../electron/main/store/hosts';

const [mode, home, prefix, count] = process.argv.slice(2);
const store = new HostStore(home!);
const host = { kind: 'ssh', host: '127.0.0.1', port: 22, user: 'u', auth: { type: 'agent' } } as const;

if (mode === 'counter') {
  const existing = (await store.tree()).hosts.find((h) => h.id === 'counter');
  let i = existing ? Number(existing.name.slice(2)) : 0;
  process.stdout.write('ready\n');
  for (;;) {
    i++;
    await store.saveHost({ ...host, id: 'counter', name: `n-${i}` });
    process.stdout.write(`${i}\n`);
  }
} else if (mode === 'add') {
  for (let i = 0; i < Number(count); i++) await store.saveHost({ ...host, id: `${prefix}-${i}`, name: `${prefix}-${i}` });
  process.stdout.write('done\n');
}

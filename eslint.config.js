import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

// Folders of electron/main from the bottom up. A folder may import its own layer and those below,
// never one above (nor the wiring files at the top): connect/ makes connections for session/ and
// the rest, and knows nothing of them.
const MAIN_LAYERS = [['base'], ['rpc'], ['ssh', 'store'], ['aws'], ['tunnel', 'profiles', 'policy'], ['connect'], ['session', 'files', 'fleet'], ['inventory', 'audit', 'doctor', 'bridge'], ['web']];
const MAIN_TOP = ['backend', 'harness', 'app', 'window', 'ipc-electron'];
const noElectron = { name: 'electron', message: 'Only app.ts, window.ts, ipc-electron.ts and the preload import electron; services run in plain Node.' };
const mainLayerRules = MAIN_LAYERS.flatMap((layer, i) => {
  const above = MAIN_LAYERS.slice(i + 1).flat();
  return layer.map((folder) => ({
    files: [`electron/main/${folder}/**`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noElectron],
          patterns: [
            {
              group: [...above.flatMap((f) => [`../${f}`, `../${f}/*`]), ...MAIN_TOP.map((f) => `../${f}`)],
              message: `electron/main/${folder} sits below ${above.join(', ') || 'nothing'} and the wiring files: it may not import them (see MAIN_LAYERS in eslint.config.js).`,
            },
          ],
        },
      ],
    },
  }));
});

const nodeBuiltins = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'net', 'tls', 'http', 'https', 'crypto', 'stream', 'events', 'util', 'url', 'worker_threads', 'dgram', 'dns'];

// Layers by runtime, enforced here so a wrong import fails `npm test`:
// - renderer/: browser code; no Node, no Electron, no ssh2 or AWS SDK. It reaches main through lib/backend only.
// - electron/contract/: pure TypeScript shared by everyone; imports nothing but zod (and itself).
// - ipcMain / ipcRenderer: only the one wrapper on each side (electron/main/ipc-electron.ts, electron/preload/).
// - electron: only the wiring files (app.ts, window.ts, ipc-electron.ts) and the preload.
export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'tests/artifacts/**', 'tests/bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='webContents'][property.name='send']", message: 'Send events through ContractServer peers (electron/main/ipc-electron.ts).' },
      ],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'The renderer is sandboxed: reach main through renderer/lib/backend.' }],
          patterns: [
            { group: nodeBuiltins, message: 'The renderer has no Node: reach main through renderer/lib/backend.' },
            { group: ['ssh2', 'ssh2/*', '@aws-sdk/*', '@smithy/*', 'ws', 'write-file-atomic'], message: 'Main-process libraries stay in electron/main.' },
            { group: ['**/electron/main/**', '**/electron/preload/**'], message: 'The renderer shares only electron/contract with main.' },
          ],
        },
      ],
    },
  },
  {
    files: ['electron/contract/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!zod$|\\./|\\.\\./[a-z-]+$).*', message: 'electron/contract imports nothing but zod (and its own modules).' }] },
      ],
    },
  },
  {
    files: ['electron/main/**', 'electron/preload/**', 'tests/**', 'scripts/**'],
    ignores: ['electron/main/app.ts', 'electron/main/window.ts', 'electron/main/ipc-electron.ts', 'electron/preload/index.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noElectron] }],
    },
  },
  // After the rule above for the same files: each folder's rule repeats the electron ban and adds its layer's.
  ...mainLayerRules,
  {
    // The unit tests of the wiring files run them against a fake typed by electron.d.ts: types only.
    files: ['tests/unit/electron/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', allowTypeImports: true, message: 'Tests of the wiring files use the fake (tests/unit/electron/fake-electron.ts); only its types come from electron.' }] },
      ],
    },
  },
  {
    files: ['electron/main/app.ts', 'electron/main/window.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', importNames: ['ipcMain', 'ipcRenderer'], message: 'Only electron/main/ipc-electron.ts touches ipcMain.' }] },
      ],
    },
  },
);

import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function importErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

// The layers of ARCHITECTURE.md hold only if a wrong import fails the build: these are the cases.
// The first lint loads ESLint's whole configuration (Svelte and TypeScript parsers): seconds on a
// busy 2-core machine, more than vitest's default 5 s.
describe('import rules between layers', { timeout: 60_000 }, () => {
  it('refuse Node and Electron in the renderer', async () => {
    expect(await importErrors('renderer/lib/x.ts', "import { readFile } from 'node:fs';\nexport const a = readFile;\n")).toHaveLength(1);
    expect(await importErrors('renderer/lib/x.ts', "import { ipcRenderer } from 'electron';\nexport const a = ipcRenderer;\n")).toHaveLength(1);
    expect(await importErrors('renderer/lib/x.ts', "import { Client } from 'ssh2';\nexport const a = Client;\n")).toHaveLength(1);
    expect(await importErrors('renderer/lib/x.ts', "import { z } from 'zod';\nexport const a = z;\n")).toHaveLength(0);
  });

  it('let electron/contract import nothing but zod', async () => {
    expect(await importErrors('electron/contract/x.ts', "import { z } from 'zod';\nimport { a } from './errors';\nexport const b = [z, a];\n")).toHaveLength(0);
    expect(await importErrors('electron/contract/x.ts', "import { join } from 'node:path';\nexport const a = join;\n")).toHaveLength(1);
    expect(await importErrors('electron/contract/x.ts', "import { a } from '../main/backend';\nexport const b = a;\n")).toHaveLength(1);
  });

  it('keep ipcMain and electron out of everything but the wiring files', async () => {
    expect(await importErrors('electron/main/ssh/x.ts', "import { ipcMain } from 'electron';\nexport const a = ipcMain;\n")).toHaveLength(1);
    expect(await importErrors('electron/main/window.ts', "import { ipcMain } from 'electron';\nexport const a = ipcMain;\n")).toHaveLength(1);
    expect(await importErrors('electron/main/ipc-electron.ts', "import { ipcMain } from 'electron';\nexport const a = ipcMain;\n")).toHaveLength(0);
  });

  it("let the wiring files' tests take electron's types for their fake, and nothing else from it", async () => {
    expect(await importErrors('tests/unit/electron/x.ts', "import type { App } from 'electron';\nexport type A = App;\n")).toHaveLength(0);
    expect(await importErrors('tests/unit/electron/x.ts', "import { app } from 'electron';\nexport const a = app;\n")).toHaveLength(1);
    expect(await importErrors('tests/unit/store/x.ts', "import type { App } from 'electron';\nexport type A = App;\n")).toHaveLength(1);
  });
});

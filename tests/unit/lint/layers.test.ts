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

  it('keep the folders of electron/main in their layers: nothing imports a folder above it', async () => {
    // ssh/ is below connect/, connect/ below session/: a connection knows nothing of its consumers.
    expect(await importErrors('electron/main/ssh/x.ts', "import { ConnectionPool } from '../connect/pool';\nexport const a = ConnectionPool;\n")).toHaveLength(1);
    expect(await importErrors('electron/main/connect/x.ts', "import { TerminalSessions } from '../session/terminal-sessions';\nexport const a = TerminalSessions;\n")).toHaveLength(1);
    expect(await importErrors('electron/main/connect/x.ts', "import { createBackend } from '../backend';\nexport const a = createBackend;\n")).toHaveLength(1);
    expect(await importErrors('electron/main/tunnel/x.ts', "import { planRoute } from '../connect/route';\nexport const a = planRoute;\n")).toHaveLength(1);
    // Downwards and within a layer is fine, and electron stays banned in every folder.
    expect(await importErrors('electron/main/session/x.ts', "import { ConnectionPool } from '../connect/pool';\nexport const a = ConnectionPool;\n")).toHaveLength(0);
    expect(await importErrors('electron/main/tunnel/x.ts', "import { KnownHosts } from '../ssh/known-hosts';\nexport const a = KnownHosts;\n")).toHaveLength(0);
    expect(await importErrors('electron/main/connect/x.ts', "import { app } from 'electron';\nexport const a = app;\n")).toHaveLength(1);
  });

  it("let the wiring files' tests take electron's types for their fake, and nothing else from it", async () => {
    expect(await importErrors('tests/unit/electron/x.ts', "import type { App } from 'electron';\nexport type A = App;\n")).toHaveLength(0);
    expect(await importErrors('tests/unit/electron/x.ts', "import { app } from 'electron';\nexport const a = app;\n")).toHaveLength(1);
    expect(await importErrors('tests/unit/store/x.ts', "import type { App } from 'electron';\nexport type A = App;\n")).toHaveLength(1);
  });
});

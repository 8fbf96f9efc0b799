import { writeFileSync } from 'node:fs';

/** The marker @electron/fuses looks for in an Electron binary; the fuse wire follows it. */
export const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';

/**
 * Electron's fuses as it ships them (docs/tutorial/fuses.md), in wire order: RunAsNode on,
 * CookieEncryption off, NodeOptions on, NodeCliInspect on, EmbeddedAsarIntegrityValidation off,
 * OnlyLoadAppFromAsar off, LoadBrowserProcessSpecificV8Snapshot off,
 * GrantFileProtocolExtraPrivileges on, WasmTrapHandlers on (a ninth fuse @electron/fuses 1.8 does not name).
 */
export const ELECTRON_DEFAULT_WIRE = '101100011';

/** A stand-in for the Electron executable: some bytes, then the fuse sentinel, version 1 and the wire. */
export function writeFakeElectronBinary(path: string, wire = ELECTRON_DEFAULT_WIRE): void {
  const head = Buffer.from('#!/bin/sh\necho "not Electron"\n');
  const fuses = Buffer.concat([Buffer.from(FUSE_SENTINEL), Buffer.from([1, wire.length]), Buffer.from(wire)]);
  writeFileSync(path, Buffer.concat([head, fuses, Buffer.alloc(256)]), { mode: 0o755 });
}

/** The wire as read back by @electron/fuses, by name (48 = '0' off, 49 = '1' on). */
export function fusesByName(wire: Record<string, unknown>): Record<string, 'on' | 'off' | number> {
  const names = ['RunAsNode', 'EnableCookieEncryption', 'EnableNodeOptionsEnvironmentVariable', 'EnableNodeCliInspectArguments', 'EnableEmbeddedAsarIntegrityValidation', 'OnlyLoadAppFromAsar', 'LoadBrowserProcessSpecificV8Snapshot', 'GrantFileProtocolExtraPrivileges', 'WasmTrapHandlers'];
  const out: Record<string, 'on' | 'off' | number> = {};
  names.forEach((name, i) => {
    const state = wire[String(i)];
    if (state !== undefined) out[name] = state === 49 ? 'on' : state === 48 ? 'off' : (state as number);
  });
  return out;
}

/** What Keyless's packaging must leave in the binary. */
export const KEYLESS_FUSES = {
  RunAsNode: 'off',
  EnableCookieEncryption: 'on',
  EnableNodeOptionsEnvironmentVariable: 'off',
  EnableNodeCliInspectArguments: 'off',
  EnableEmbeddedAsarIntegrityValidation: 'on',
  OnlyLoadAppFromAsar: 'on',
  LoadBrowserProcessSpecificV8Snapshot: 'off',
  GrantFileProtocolExtraPrivileges: 'off',
  // Not one of ours to set: left as Electron ships it.
  WasmTrapHandlers: 'on',
} as const;

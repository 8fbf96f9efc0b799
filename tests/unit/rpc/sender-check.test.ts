import { describe, expect, it } from 'vitest';
import { isOwnSender } from '../../../electron/main/rpc/sender-check';

const ORIGIN = 'app://keyless';
const webContents = {};
const mainFrame = { url: 'app://keyless/index.html' };
const window = { webContents, mainFrame };

describe('who may call the backend over Electron IPC', () => {
  it('accepts our window main frame on our own origin', () => {
    expect(isOwnSender({ sender: webContents, senderFrame: mainFrame }, window, ORIGIN)).toBe(true);
  });

  it('refuses an iframe, another window, a missing frame, and a navigated-away page', () => {
    const iframe = { url: 'app://keyless/index.html' };
    expect(isOwnSender({ sender: webContents, senderFrame: iframe }, window, ORIGIN)).toBe(false);
    expect(isOwnSender({ sender: {}, senderFrame: mainFrame }, window, ORIGIN)).toBe(false);
    expect(isOwnSender({ sender: webContents, senderFrame: null }, window, ORIGIN)).toBe(false);
    const elsewhere = { url: 'https://evil.example/app://keyless' };
    expect(isOwnSender({ sender: webContents, senderFrame: elsewhere }, { webContents, mainFrame: elsewhere }, ORIGIN)).toBe(false);
    const lookalike = { url: 'app://keyless.evil/index.html' };
    expect(isOwnSender({ sender: webContents, senderFrame: lookalike }, { webContents, mainFrame: lookalike }, ORIGIN)).toBe(false);
  });
});

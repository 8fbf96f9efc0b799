import { mount } from 'svelte';
import '@xterm/xterm/css/xterm.css';
// The terminal's default font, bundled (OFL-1.1) so every glyph is drawn the same on any machine.
import '@fontsource/jetbrains-mono/400.css';
import '@fontsource/jetbrains-mono/700.css';
import './app.css';
import App from './App.svelte';
import { connectBackend } from './lib/backend/backend';
import { AppState } from './lib/state/app.svelte';

// Start-up phases for the startup bench (performance marks cost nothing when nobody reads them).
performance.mark('keyless:bundle-run');
const state = new AppState(connectBackend());
// The page address carries the harness token; keep it out of history and screenshots. The tab's
// session storage keeps it so that a reload (F5) reconnects (connectBackend reads it there).
if (location.search.includes('token=')) {
  const rest = new URLSearchParams(location.search);
  rest.delete('token');
  history.replaceState(null, '', `${location.pathname}${rest.size ? `?${rest}` : ''}`);
}
// The first calls go out while the font loads: the host tree is drawn as soon as both are there.
void state.load();
// xterm.js measures its cells when a terminal opens: with the font there, not a fallback's.
void document.fonts
  .load('14px "JetBrains Mono"')
  .catch(() => undefined)
  .finally(() => {
    performance.mark('keyless:mount');
    mount(App, { target: document.getElementById('app')!, props: { state } });
  });

import { mount } from 'svelte';
import '@xterm/xterm/css/xterm.css';
import './app.css';
import App from './App.svelte';
import { connectBackend } from './lib/backend/backend';
import { AppState } from './lib/state/app.svelte';

const state = new AppState(connectBackend());
// The page address carries the harness token; keep it out of history and screenshots.
if (location.search.includes('token=')) history.replaceState(null, '', location.pathname);
mount(App, { target: document.getElementById('app')!, props: { state } });
void state.load();

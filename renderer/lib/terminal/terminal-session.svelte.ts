import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import { Terminal, type ITheme } from '@xterm/xterm';
import type { ConnectStep, KeylessError, RouteInfo, SessionState, TerminalSettings } from '../../../electron/contract';
import { hostRefOf, type TabTarget } from '../state/tab-target';
import { osc7Path } from '../state/files.svelte';
import { BackendError, type Backend } from '../backend/backend';
import { parseAsciicast, playbackSchedule } from './asciicast';
import { concatBytes } from './bytes';
import { preparePaste, type PreparedPaste } from './paste';

export interface StepView {
  step: ConnectStep;
  status: 'start' | 'done' | 'failed';
  ms?: number;
  /** When the step began, in ms since the connect did (as this window saw it): the waterfall's left edge. */
  at?: number;
}

/** What a terminal asks of the workspace around it. */
export interface SessionHooks {
  /** Something was typed here; the workspace decides where it goes (broadcast). */
  input(from: TerminalSession, data: string): void;
  /** Prepared text arrived that must not go in unasked (see preparePaste); resolves with whether to paste it. */
  confirmPaste(paste: PreparedPaste): Promise<boolean>;
  /** Prepared (and, where needed, confirmed) text is pasted here; the workspace decides where else it goes (broadcast). */
  paste(from: TerminalSession, paste: PreparedPaste): void;
  /** A link was clicked (plain text or OSC 8): the workspace asks before anything opens. */
  openLink(url: string): void;
}

export type SessionSource = { kind: 'host'; target: TabTarget } | { kind: 'playback'; name: string };

export interface Look {
  settings: TerminalSettings;
  theme: ITheme;
  fontSize: number;
}

/** Writes larger than this are sent in pieces (the contract caps one write at 256 KiB). */
const WRITE_CHUNK = 64 * 1024;
/**
 * Acknowledged at once when this much is parsed: a quarter of main's window (HIGH_WATERMARK,
 * terminal-channel.ts), so main can send the next message while three more are still here.
 */
const ACK_NOW_BYTES = 64 * 1024;
/**
 * …or when output has been waiting here this long (ms) since the last ack: a page parsing slowly
 * is given a smaller window by main (DRAIN_MS there, 60 ms of parsing, sent in two messages), and
 * acks at least four times a window so the next message is on its way before the last one here
 * is parsed.
 */
const ACK_NOW_MS = 15;
/**
 * Small pieces waiting behind each other are joined up to this before they go to xterm.js; a
 * message from main (at most 64 KiB, about a millisecond of parsing) goes as it came.
 */
const WRITE_PIECE_BYTES = 32 * 1024;

/** Tasks queued behind whatever the page has queued now (a MessageChannel: no timer clamping). */
const taskQueue: Array<() => void> = [];
let taskChannel: MessageChannel | undefined;
function nextTask(fn: () => void): void {
  if (!taskChannel) {
    taskChannel = new MessageChannel();
    taskChannel.port1.onmessage = () => taskQueue.shift()?.();
  }
  taskQueue.push(fn);
  taskChannel.port2.postMessage(0);
}

let nextPane = 1;

let gpuVerdict: boolean | undefined;
/**
 * Whether WebGL here is drawn by a GPU. Chromium without one falls back to a software rasteriser
 * (SwiftShader, llvmpipe), where a WebGL frame costs far more than the DOM renderer's; there
 * the DOM renderer is used.
 */
function hardwareWebgl(): boolean {
  if (gpuVerdict !== undefined) return gpuVerdict;
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return (gpuVerdict = false);
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    gpuVerdict = !/swiftshader|llvmpipe|softpipe|software|basic render/i.test(name);
  } catch {
    gpuVerdict = false;
  }
  return gpuVerdict;
}

/**
 * One terminal: an xterm.js instance and, for SSH, its session in main. Output is acknowledged
 * only after xterm.js has parsed it, which is what lets main apply back-pressure all the way to
 * sshd; acknowledgements parsed in one xterm.js time slice go back as one message.
 */
export class TerminalSession {
  readonly id = `p${nextPane++}`;
  readonly terminal: Terminal;
  /** The element xterm.js lives in; moved between pane components as the layout changes. */
  readonly element: HTMLDivElement;
  state = $state<SessionState>('connecting');
  steps = $state<StepView[]>([]);
  private connectStarted = 0;
  error = $state<KeylessError | undefined>(undefined);
  /** The way the last connect went (jump hosts, endpoint or address), as main reported it. */
  route = $state<RouteInfo | undefined>(undefined);
  /** The terminal's size in cells, as last sent to the remote PTY. */
  size = $state({ cols: 80, rows: 24 });
  renderer = $state<'webgl' | 'dom'>('dom');
  /** The recording's file name while one is being written. */
  recording = $state<string | undefined>(undefined);
  searchResults = $state<{ index: number; count: number } | undefined>(undefined);
  /** OSC 52 clipboard writes from the host, refused. */
  refusedClipboardWrites = $state(0);
  /** The EICE tunnel under this session reaches its maximum duration soon (main reconnects on the cut). */
  tunnelExpiring = $state<{ secondsLeft: number } | undefined>(undefined);
  /** The shell's folder as it last reported it (OSC 7, `file://host/path`): what "Files here" opens. */
  cwd = $state<string | undefined>(undefined);
  sessionId: string | undefined;
  private requestId = '';
  private unacked = 0;
  /**
   * Time (ms) since the last ack during which output was here not yet parsed (xterm.js parsing,
   * and the page drawing between pieces), and since when it has been, if it is now: main sizes
   * the window by it, not counting time spent waiting for output.
   */
  private busyMs = 0;
  private busyFrom: number | undefined;
  private ackQueued = false;
  /** Output received (UTF-8 bytes) and not yet handed to xterm.js, with the session it came from. */
  private pending: Array<{ sessionId: string; data: Uint8Array }> = [];
  private writing = false;
  private disposed = false;
  private opened = false;
  private readonly fit = new FitAddon();
  private readonly search = new SearchAddon();
  private webgl: WebglAddon | undefined;
  private observer: ResizeObserver | undefined;
  private playback: ReturnType<typeof setTimeout> | undefined;
  private taps: Array<(parsed: Uint8Array) => void> = [];
  private readonly unsubscribe: Array<() => void> = [];
  private look: Look;
  private lastSearchOptions = '';
  /** While xterm.js turns a prepared paste into input for this terminal only (see pasteHere). */
  private pasting = false;

  constructor(
    private readonly backend: Backend,
    readonly source: SessionSource,
    look: Look,
    private readonly hooks: SessionHooks,
  ) {
    this.look = look;
    this.element = document.createElement('div');
    this.element.className = 'xterm-host';
    this.terminal = new Terminal({
      allowProposedApi: true,
      cursorBlink: true,
      scrollback: look.settings.scrollback,
      fontFamily: look.settings.fontFamily,
      fontSize: look.fontSize,
      theme: look.theme,
      screenReaderMode: look.settings.screenReaderMode,
      // OSC 8 hyperlinks ask the same question as plain ones; non-http(s) targets are no links at all.
      linkHandler: { activate: (_event, uri) => this.hooks.openLink(uri), allowNonHttpProtocols: false },
    });
    this.terminal.onData((data) => (this.pasting ? this.send(data) : this.hooks.input(this, data)));
    this.terminal.onResize(({ cols, rows }) => {
      this.size = { cols, rows };
      if (this.sessionId && this.state === 'connected') void this.call('session.resize', { sessionId: this.sessionId, cols, rows });
    });
    this.terminal.onSelectionChange(() => {
      if (!this.look.settings.copyOnSelect || !this.terminal.hasSelection()) return;
      navigator.clipboard?.writeText(this.terminal.getSelection()).catch(() => {});
    });
    // A host may not write to the person's clipboard (OSC 52): the sequence is consumed and dropped.
    this.terminal.parser.registerOscHandler(52, () => {
      this.refusedClipboardWrites++;
      return true;
    });
    // The shell says where it is (OSC 7): kept for "Files here", as bytes (base64).
    this.terminal.parser.registerOscHandler(7, (data) => {
      this.cwd = osc7Path(data) ?? this.cwd;
      return true;
    });
    const unicode = new Unicode11Addon();
    this.terminal.loadAddon(unicode);
    this.terminal.unicode.activeVersion = '11';
    this.terminal.loadAddon(this.fit);
    this.terminal.loadAddon(this.search);
    this.terminal.loadAddon(new WebLinksAddon((_event, uri) => this.hooks.openLink(uri)));
    this.search.onDidChangeResults((r) => (this.searchResults = { index: r.resultIndex, count: r.resultCount }));

    // Every paste (keys, menu, and the middle-click paste of the primary selection on Linux) and
    // every text dropped here goes through paste() before xterm.js sees it.
    this.element.addEventListener(
      'paste',
      (e) => {
        const text = e.clipboardData?.getData('text/plain') ?? '';
        e.preventDefault();
        e.stopImmediatePropagation();
        if (text) void this.paste(text);
      },
      { capture: true },
    );
    const droppable = (e: DragEvent) => {
      const types = e.dataTransfer?.types ?? [];
      // Hosts dragged from the sidebar carry their ids as text too: not something to type.
      return types.includes('text/plain') && !types.some((t) => t.startsWith('application/x-keyless'));
    };
    this.element.addEventListener('dragover', (e) => {
      if (!droppable(e)) return;
      e.preventDefault();
      e.dataTransfer!.dropEffect = 'copy';
    });
    this.element.addEventListener('drop', (e) => {
      if (!droppable(e)) return;
      e.preventDefault();
      e.stopPropagation();
      const text = e.dataTransfer!.getData('text/plain');
      if (text) void this.paste(text);
    });

    if (source.kind === 'host') {
      this.unsubscribe.push(
        backend.on('progress', (p) => {
          if (p.requestId !== this.requestId) return;
          const i = this.steps.findIndex((s) => s.step === p.step);
          // A step seen only when it ended began its own length before now.
          const at = this.steps[i]?.at ?? Math.max(0, performance.now() - this.connectStarted - (p.status === 'start' ? 0 : (p.ms ?? 0)));
          const view: StepView = p.ms === undefined ? { step: p.step, status: p.status, at } : { step: p.step, status: p.status, ms: p.ms, at };
          if (i >= 0) this.steps[i] = view;
          else this.steps.push(view);
        }),
        backend.on('session.data', (d) => {
          if (d.sessionId === this.sessionId) this.output(d.data);
        }),
        backend.on('session.notice', (n) => {
          if (n.sessionId !== this.sessionId) return;
          this.tunnelExpiring = { secondsLeft: n.secondsLeft };
        }),
        backend.on('session.state', (s) => {
          if (s.sessionId !== this.sessionId) return;
          this.state = s.state;
          // The cut came (or the session ended): the warning has done its job.
          if (s.state !== 'connected') this.tunnelExpiring = undefined;
          if (s.error) this.error = s.error;
          if (s.state === 'closed') this.recording = undefined;
        }),
        backend.on('recording.stopped', (r) => {
          if (r.sessionId !== this.sessionId) return;
          this.recording = undefined;
          if (r.error) this.error = r.error;
        }),
      );
    }
  }

  /** What this terminal connects to; undefined for a playback. */
  get target(): TabTarget | undefined {
    return this.source.kind === 'host' ? this.source.target : undefined;
  }

  get title(): string {
    return this.source.kind === 'host' ? this.source.target.title : this.source.name;
  }

  /** Puts the terminal into `container`; xterm.js is opened the first time, moved afterwards. */
  mount(container: HTMLElement): () => void {
    container.appendChild(this.element);
    if (!this.opened) {
      this.opened = true;
      this.terminal.open(this.element);
      this.useRenderer(this.look.settings.webgl);
      this.observer = new ResizeObserver(() => this.fitNow());
      this.observer.observe(this.element);
    }
    this.fitNow();
    return () => {
      if (this.element.parentElement === container) this.element.remove();
    };
  }

  fitNow(): void {
    if (this.element.isConnected && this.element.offsetWidth > 0 && this.element.offsetHeight > 0) this.fit.fit();
  }

  focus(): void {
    this.terminal.focus();
  }

  /** Applies new settings, theme or zoom to a running terminal. */
  restyle(look: Look): void {
    this.look = look;
    const o = this.terminal.options;
    o.fontFamily = look.settings.fontFamily;
    o.fontSize = look.fontSize;
    o.theme = look.theme;
    o.scrollback = look.settings.scrollback;
    o.screenReaderMode = look.settings.screenReaderMode;
    if (this.opened) this.useRenderer(look.settings.webgl);
    this.fitNow();
  }

  /** The WebGL renderer when asked for and available; the DOM renderer otherwise, and after a lost GPU context. */
  private useRenderer(webgl: boolean): void {
    if (webgl && !this.webgl && hardwareWebgl()) {
      try {
        const addon = new WebglAddon();
        addon.onContextLoss(() => {
          addon.dispose();
          if (this.webgl === addon) this.webgl = undefined;
          this.renderer = 'dom';
        });
        this.terminal.loadAddon(addon);
        this.webgl = addon;
        this.renderer = 'webgl';
      } catch {
        this.renderer = 'dom';
      }
    } else if (!webgl && this.webgl) {
      this.webgl.dispose();
      this.webgl = undefined;
      this.renderer = 'dom';
    }
  }

  async connect(): Promise<void> {
    const target = this.target;
    if (!target) return;
    this.state = this.sessionId ? 'reconnecting' : 'connecting';
    this.error = undefined;
    this.steps = [];
    this.connectStarted = performance.now();
    this.requestId = `r${Date.now().toString(36)}${this.id}`;
    if (this.sessionId) {
      void this.call('session.close', { sessionId: this.sessionId });
      this.sessionId = undefined;
      this.terminal.write('\r\n');
    }
    this.unacked = 0;
    this.busyMs = 0;
    try {
      const { sessionId, route, recording, recordingError } = await this.backend.invoke('session.open', {
        requestId: this.requestId,
        ...hostRefOf(target),
        cols: this.terminal.cols,
        rows: this.terminal.rows,
      });
      this.sessionId = sessionId;
      this.route = route;
      this.state = 'connected';
      // The host records its sessions automatically: main started it before the first byte.
      this.recording = recording;
      if (recordingError) this.error = recordingError;
      const { cols, rows } = this.terminal;
      this.size = { cols, rows };
      void this.call('session.resize', { sessionId, cols, rows });
    } catch (err) {
      this.state = 'closed';
      this.error = err instanceof BackendError ? err.error : { code: 'Internal', message: String(err), retryable: false };
    }
  }

  /** Sends typed or pasted text to the remote shell (nothing for a closed session or a playback). */
  send(data: string): void {
    if (!this.sessionId || this.state !== 'connected') return;
    for (let i = 0; i < data.length; i += WRITE_CHUNK) {
      void this.call('session.write', { sessionId: this.sessionId, data: data.slice(i, i + WRITE_CHUNK) });
    }
  }

  /** Text from outside the keyboard: prepared, asked about when it must be, then pasted (here, or to every broadcast target). */
  async paste(raw: string): Promise<void> {
    const prepared = preparePaste(raw, { confirmLines: this.look.settings.confirmMultiLinePaste });
    if (!prepared.text) return;
    if (prepared.ask && !(await this.hooks.confirmPaste(prepared))) return;
    this.hooks.paste(this, prepared);
  }

  /**
   * Pastes prepared text into this terminal only. xterm.js turns line breaks into CR and adds the
   * bracketed-paste markers when this terminal's program asked for them, so each broadcast target
   * gets the markers its own program expects.
   */
  pasteHere(prepared: PreparedPaste): void {
    this.pasting = true;
    try {
      this.terminal.paste(prepared.text);
    } finally {
      this.pasting = false;
    }
  }

  /**
   * Output is handed to xterm.js one piece at a time (a message, or small ones joined up to
   * WRITE_PIECE_BYTES), with a task in between: a flooding tab is parsed in slices of about a
   * millisecond, so another tab's output (the echo of a keystroke) waits for one slice instead
   * of xterm.js's whole time slice of the flood, and the page's input and frames get their turn.
   */
  private output(data: Uint8Array): void {
    if (this.sessionId) this.pending.push({ sessionId: this.sessionId, data });
    if (!this.writing) {
      this.busyFrom ??= performance.now();
      this.writeNext();
    }
  }

  private writeNext(): void {
    const first = this.pending.shift();
    if (!first || this.disposed) {
      this.writing = false;
      if (this.busyFrom !== undefined) this.busyMs += performance.now() - this.busyFrom;
      this.busyFrom = undefined;
      return;
    }
    this.writing = true;
    const data = this.joinWaiting(first);
    this.terminal.write(data, () => {
      this.parsed(first.sessionId, data);
      nextTask(() => this.writeNext());
    });
  }

  /**
   * `first` and the small pieces of the same session waiting behind it (a trickle), up to
   * WRITE_PIECE_BYTES, as one. A character cut between two pieces needs no care: xterm.js's
   * UTF-8 decoder keeps its first bytes until the rest comes.
   */
  private joinWaiting(first: { sessionId: string; data: Uint8Array }): Uint8Array {
    const fits = () => this.pending[0]?.sessionId === first.sessionId && n + this.pending[0].data.byteLength <= WRITE_PIECE_BYTES;
    let n = first.data.byteLength;
    if (!fits()) return first.data;
    const parts = [first.data];
    while (fits()) {
      const next = this.pending.shift()!.data;
      parts.push(next);
      n += next.byteLength;
    }
    return concatBytes(parts);
  }

  /** Acknowledges what xterm.js has parsed: a large piece at once, small ones gathered per task. */
  private parsed(sessionId: string, data: Uint8Array): void {
    for (const tap of this.taps) tap(data);
    // Output of a session this tab has since replaced is not acknowledged to the new one.
    if (sessionId !== this.sessionId) return;
    this.unacked += data.byteLength;
    if (this.unacked >= ACK_NOW_BYTES || this.busySinceAck() >= ACK_NOW_MS) this.flushAck();
    // While more output waits here, main's window is not what holds it back: the ack can wait
    // for a larger amount (each one is a message, and wakes main). Caught up: ack the rest now.
    else if (this.pending.length === 0 && !this.ackQueued) {
      this.ackQueued = true;
      queueMicrotask(() => this.flushAck());
    }
  }

  private busySinceAck(): number {
    return this.busyMs + (this.busyFrom === undefined ? 0 : performance.now() - this.busyFrom);
  }

  private flushAck(): void {
    this.ackQueued = false;
    const bytes = this.unacked;
    const parseMs = Math.round(this.busySinceAck() * 100) / 100;
    this.unacked = 0;
    this.busyMs = 0;
    if (this.busyFrom !== undefined) this.busyFrom = performance.now();
    if (bytes > 0 && this.sessionId) this.backend.notify('session.ack', { sessionId: this.sessionId, bytes, parseMs });
  }

  /** Calls `fn` with each piece of output (bytes) right after xterm.js has parsed it (tests, benchmark). */
  tap(fn: (parsed: Uint8Array) => void): () => void {
    this.taps = [...this.taps, fn];
    return () => {
      this.taps = this.taps.filter((t) => t !== fn);
    };
  }

  find(term: string, opts: { caseSensitive: boolean; regex: boolean }, backwards = false): boolean {
    if (!term) {
      this.search.clearDecorations();
      this.searchResults = undefined;
      return false;
    }
    // The addon keeps its highlights for the same term; a change of case or regex must start over.
    const key = `${opts.caseSensitive}/${opts.regex}`;
    if (key !== this.lastSearchOptions) this.search.clearDecorations();
    this.lastSearchOptions = key;
    const options = {
      ...opts,
      decorations: { matchBackground: '#515c6a', activeMatchBackground: '#a8740f', matchOverviewRuler: '#d4d4d4', activeMatchColorOverviewRuler: '#ffb000' },
    };
    try {
      return backwards ? this.search.findPrevious(term, options) : this.search.findNext(term, options);
    } catch {
      return false; // an unfinished regular expression
    }
  }

  clearSearch(): void {
    this.search.clearDecorations();
    this.searchResults = undefined;
  }

  async startRecording(): Promise<void> {
    if (!this.sessionId) return;
    this.error = undefined;
    try {
      this.recording = (await this.backend.invoke('recording.start', { sessionId: this.sessionId, title: this.title })).name;
    } catch (err) {
      if (err instanceof BackendError) this.error = err.error;
    }
  }

  async stopRecording(): Promise<void> {
    if (!this.sessionId) return;
    this.recording = undefined;
    await this.call('recording.stop', { sessionId: this.sessionId });
  }

  /** Plays an asciicast recording into this terminal, with long pauses shortened. */
  play(text: string, speed = 1): void {
    let cast;
    try {
      cast = parseAsciicast(text);
    } catch (err) {
      this.state = 'closed';
      this.error = { code: 'Internal', message: String(err), retryable: false };
      return;
    }
    this.terminal.resize(Math.min(1000, Math.max(2, cast.width)), Math.min(500, Math.max(1, cast.height)));
    const at = playbackSchedule(cast.output, 0.5, speed);
    this.state = 'connected';
    const started = performance.now();
    let i = 0;
    const step = () => {
      const now = (performance.now() - started) / 1000;
      let batch = '';
      while (i < cast.output.length && at[i]! <= now) batch += cast.output[i++]![1];
      if (batch) this.terminal.write(batch);
      if (i >= cast.output.length) {
        this.terminal.write('', () => (this.state = 'closed'));
        this.playback = undefined;
        return;
      }
      this.playback = setTimeout(step, Math.max(0, (at[i]! - now) * 1000));
    };
    step();
  }

  private async call(...args: Parameters<Backend['invoke']>): Promise<void> {
    try {
      await this.backend.invoke(...args);
    } catch {
      /* the session's own state event says what happened */
    }
  }

  dispose(): void {
    this.disposed = true;
    this.pending = [];
    this.unsubscribe.forEach((u) => u());
    clearTimeout(this.playback);
    this.observer?.disconnect();
    if (this.sessionId && this.state !== 'closed') void this.call('session.close', { sessionId: this.sessionId });
    else if (!this.sessionId && this.source.kind === 'host') void this.call('op.cancel', { requestId: this.requestId });
    this.terminal.dispose();
    this.element.remove();
  }
}

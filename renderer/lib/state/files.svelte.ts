import { SvelteSet } from 'svelte/reactivity';
import type { ConflictChoice, FileEntry, KeylessError, RouteInfo, TransferInfo } from '../../../electron/contract';
import { BackendError, type Backend } from '../backend/backend';
import { hostRefOf, targetKey, type TabTarget } from './tab-target';

export type SortKey = 'name' | 'size' | 'mtime' | 'mode' | 'owner';

/** Bytes as base64 and back (remote names travel so: they are not text). */
export function bytesToB64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
export function b64ToBytes(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
const utf8 = (s: string) => new TextEncoder().encode(s);

/** A remote path joined from a folder's bytes and a name's bytes. */
export function joinPath(dir: string, name: string): string {
  const d = b64ToBytes(dir);
  const n = b64ToBytes(name);
  const slash = d.length && d[d.length - 1] !== 0x2f ? 1 : 0;
  const out = new Uint8Array(d.length + slash + n.length);
  out.set(d);
  if (slash) out[d.length] = 0x2f;
  out.set(n, d.length + slash);
  return bytesToB64(out);
}

/** The folders above a path, for breadcrumbs: each with its shown name and its path's bytes. */
export function crumbs(path: string, display: string): Array<{ label: string; path: string }> {
  const bytes = b64ToBytes(path);
  const out: Array<{ label: string; path: string }> = [{ label: '/', path: bytesToB64(utf8('/')) }];
  const shown = display.split('/').filter(Boolean);
  let k = 0;
  for (let i = 1; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x2f) {
      if (i > 1 && bytes[i - 1] !== 0x2f) out.push({ label: shown[k++] ?? '?', path: bytesToB64(bytes.subarray(0, i)) });
    }
  }
  return out;
}

/**
 * The folder an OSC 7 report names (`file://host/path`, percent-encoded bytes), as base64 bytes;
 * undefined when it is not one.
 */
export function osc7Path(data: string): string | undefined {
  const m = /^file:\/\/[^/]*(\/.*)$/.exec(data);
  if (!m) return undefined;
  const raw = m[1]!;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '%' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...utf8(raw[i]!));
    }
  }
  return bytesToB64(new Uint8Array(bytes));
}

/** What bash runs to report its folder with OSC 7 (VS Code's shell integration does the same): the opt-in snippet. */
export const OSC7_SNIPPET = `__keyless_osc7() { printf '\\033]7;file://%s%s\\033\\\\' "\${HOSTNAME}" "$(printf '%s' "$PWD" | od -An -tx1 -v | tr -d ' \\n' | sed 's/../%&/g')"; }
PROMPT_COMMAND="__keyless_osc7\${PROMPT_COMMAND:+;$PROMPT_COMMAND}"`;

function failure(err: unknown): KeylessError {
  return err instanceof BackendError ? err.error : { code: 'Internal', message: String(err), retryable: false };
}

/** One collator for every comparison: a locale comparison made anew per pair is far slower over 100,000 names. */
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
/** How often a listing still arriving is shown again (each time sorts what arrived so far). */
const LISTING_REDRAW_MS = 400;

let nextView = 1;
let nextRequest = 1;
const rid = (what: string) => `${what}${nextRequest++}`;

/**
 * One host's files: the open folder's entries (streamed in as the host lists them), sorting, hidden
 * files, the focused row and the selection. Its browser in main holds a lease on the host's
 * pooled connection until the view closes.
 */
export class FilesView {
  readonly id = `fv${nextView++}`;
  browserId = $state<string | undefined>(undefined);
  state = $state<'connecting' | 'ready' | 'failed'>('connecting');
  error = $state<KeylessError | undefined>(undefined);
  route = $state<RouteInfo | undefined>(undefined);
  home = $state('');
  path = $state('');
  display = $state('');
  entries = $state.raw<FileEntry[]>([]);
  listing = $state(false);
  sort = $state<{ key: SortKey; descending: boolean }>({ key: 'name', descending: false });
  showHidden = $state(false);
  focused = $state(0);
  readonly selected = new SvelteSet<string>();
  /** The folder the terminal was in when "Files here" opened this view (OSC 7), to list first. */
  private startAt: string | undefined;
  private listingRequest: string | undefined;

  constructor(
    private readonly files: FilesState,
    readonly target: TabTarget,
    startAt?: string,
  ) {
    this.startAt = startAt;
  }

  get title(): string {
    return this.target.title;
  }

  get key(): string {
    return targetKey(this.target);
  }

  /** The rows as shown: hidden files left out unless asked for, folders first, then by the sort. */
  rows = $derived.by(() => {
    const list = this.showHidden ? this.entries : this.entries.filter((e) => !e.display.startsWith('.'));
    const { key, descending } = this.sort;
    const dir = descending ? -1 : 1;
    const isDir = (e: FileEntry) => e.kind === 'dir' || (e.kind === 'link' && e.target === 'dir');
    const by = (a: FileEntry, b: FileEntry): number => {
      switch (key) {
        case 'size':
          return a.size - b.size;
        case 'mtime':
          return a.mtime - b.mtime;
        case 'mode':
          return a.mode - b.mode;
        case 'owner':
          return collator.compare(a.owner, b.owner);
        default:
          return collator.compare(a.display, b.display);
      }
    };
    return [...list].sort((a, b) => Number(isDir(b)) - Number(isDir(a)) || by(a, b) * dir || (a.display < b.display ? -1 : a.display > b.display ? 1 : 0));
  });

  async open(): Promise<void> {
    this.state = 'connecting';
    this.error = undefined;
    try {
      const opened = await this.files.backend.invoke('files.open', { requestId: rid('fo'), ...hostRefOf(this.target) });
      this.browserId = opened.browserId;
      this.route = opened.route;
      this.home = opened.home;
      this.state = 'ready';
      const first = this.startAt;
      this.startAt = undefined;
      if (first) {
        try {
          await this.list({ path: first });
          return;
        } catch {
          /* the terminal's folder is gone: the login folder instead */
        }
      }
      await this.list({ path: opened.home });
    } catch (err) {
      this.state = 'failed';
      this.error = failure(err);
    }
  }

  /** Lists a folder; rows show as the pages arrive. Throws nothing: a failure is shown in the view. */
  async list(where: { path: string } | { typed: string }): Promise<void> {
    if (!this.browserId) return;
    const requestId = rid('ls');
    this.listingRequest = requestId;
    this.listing = true;
    this.error = undefined;
    const got: FileEntry[] = [];
    let shownAt = 0;
    let redraw: ReturnType<typeof setTimeout> | undefined;
    const show = () => {
      redraw = undefined;
      shownAt = performance.now();
      if (this.listingRequest === requestId) this.entries = got.slice();
    };
    // The first page shows at once; the rest a few times a second, not once per page.
    const off = this.files.backend.on('files.entries', (p) => {
      if (p.requestId !== requestId || this.listingRequest !== requestId) return;
      for (const e of p.entries) got.push(e);
      if (shownAt === 0) show();
      // Each redraw sorts all that arrived: the more there is, the less often (4 s apart at 100,000).
      else redraw ??= setTimeout(show, Math.max(0, LISTING_REDRAW_MS * Math.max(1, got.length / 10_000) - (performance.now() - shownAt)));
    });
    this.entries = [];
    try {
      const result = await this.files.backend.invoke('files.list', { browserId: this.browserId, requestId, ...where });
      if (this.listingRequest !== requestId) return;
      this.path = result.path;
      this.display = result.display;
      this.entries = got;
      this.focused = 0;
      this.selected.clear();
    } catch (err) {
      if (this.listingRequest === requestId) this.error = failure(err);
      if ('typed' in where) throw err;
    } finally {
      off();
      clearTimeout(redraw);
      if (this.listingRequest === requestId) this.listing = false;
    }
  }

  refresh(): Promise<void> {
    return this.list({ path: this.path });
  }

  up(): Promise<void> {
    const c = crumbs(this.path, this.display);
    return this.list({ path: c.length > 1 ? c[c.length - 2]!.path : c[0]!.path });
  }

  pathOf(e: FileEntry): string {
    return joinPath(this.path, e.name);
  }

  /** Enter on a row: a folder opens, a file downloads. */
  activate(e: FileEntry): Promise<void> {
    if (e.kind === 'dir' || (e.kind === 'link' && e.target === 'dir')) return this.list({ path: this.pathOf(e) });
    return this.download([e]);
  }

  /** The rows acted on: the selection, else the focused row. */
  chosen(): FileEntry[] {
    const picked = this.rows.filter((r) => this.selected.has(r.name));
    if (picked.length) return picked;
    const f = this.rows[this.focused];
    return f ? [f] : [];
  }

  toggleSelected(e: FileEntry): void {
    if (this.selected.has(e.name)) this.selected.delete(e.name);
    else this.selected.add(e.name);
  }

  async act(fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      this.error = failure(err);
      return false;
    }
  }

  mkdir(name: string): Promise<boolean> {
    return this.act(async () => {
      await this.files.backend.invoke('files.mkdir', { browserId: this.browserId!, dir: this.path, name });
      await this.refresh();
    });
  }

  rename(e: FileEntry, name: string): Promise<boolean> {
    return this.act(async () => {
      await this.files.backend.invoke('files.rename', { browserId: this.browserId!, path: this.pathOf(e), name });
      await this.refresh();
    });
  }

  remove(entries: FileEntry[]): Promise<boolean> {
    return this.act(async () => {
      await this.files.backend.invoke('files.delete', { browserId: this.browserId!, requestId: rid('rm'), paths: entries.map((e) => this.pathOf(e)) });
      await this.refresh();
    });
  }

  chmod(e: FileEntry, mode: number): Promise<boolean> {
    return this.act(async () => {
      await this.files.backend.invoke('files.chmod', { browserId: this.browserId!, path: this.pathOf(e), mode });
      await this.refresh();
    });
  }

  async download(entries: FileEntry[]): Promise<void> {
    if (!entries.length) return;
    await this.act(() => this.files.backend.invoke('files.download', { ...hostRefOf(this.target), paths: entries.map((e) => this.pathOf(e)) }));
  }

  /** Copies the entries into another host's open folder (streamed from host to host). */
  copyTo(entries: FileEntry[], to: FilesView): Promise<boolean> {
    return this.act(async () => {
      if (!entries.length || !to.path) return;
      const { transferId } = await this.files.backend.invoke('files.copy', { ...hostRefOf(this.target), paths: entries.map((e) => this.pathOf(e)), to: { ...hostRefOf(to.target), dir: to.path } });
      this.files.watch(transferId, to);
    });
  }

  /** Files from the browser's picker or a drop, each with its path inside what was dropped. */
  upload(files: Array<{ file: File; name: string }>, opts: { sudo?: boolean } = {}): Promise<boolean> {
    return this.act(() => this.files.uploadStream(this, files, opts.sudo ?? false));
  }

  /** The system's dialog (Electron): the backend reads the picked files itself. */
  uploadPicked(folders: boolean): Promise<boolean> {
    return this.act(async () => {
      const { picks } = await this.files.backend.invoke('files.pick', { folders });
      if (!picks?.length) return;
      const { transferId } = await this.files.backend.invoke('files.upload', { ...hostRefOf(this.target), dir: this.path, picks: picks.map((p) => p.pick) });
      this.files.watch(transferId, this);
    });
  }

  close(): void {
    const id = this.browserId;
    this.browserId = undefined;
    if (id) void this.files.backend.invoke('files.close', { browserId: id }).catch(() => undefined);
  }
}

/**
 * The Files views (one per host; one may be docked beside the terminals), the transfer queue as
 * main reports it, and the bytes of streamed uploads that main asks for.
 */
export class FilesState {
  views = $state<FilesView[]>([]);
  activeId = $state<string | undefined>(undefined);
  /** The view shown beside the terminals, if any. */
  dockedId = $state<string | undefined>(undefined);
  transfers = $state<TransferInfo[]>([]);
  queue = $state<{ bytes: number; total: number; rate: number; etaS: number | null; active: number; queued: number }>({ bytes: 0, total: 0, rate: 0, etaS: null, active: 0, queued: 0 });
  downloadsFolder = $state('');
  /** Electron uploads through the system dialog (the backend reads the files); the browser through its picker. */
  transport = $state<'electron' | 'web'>('web');
  /** Views to list again when a transfer into their folder finishes. */
  private readonly refreshWhenDone: Record<string, FilesView> = {};
  /** Files of streamed uploads, by transfer and file number, until the transfer finishes. */
  private readonly streams: Record<string, File[]> = {};
  private readonly unsubscribe: Array<() => void>;

  constructor(readonly backend: Backend) {
    this.unsubscribe = [
      backend.on('files.transfer', (t) => {
        const i = this.transfers.findIndex((x) => x.transferId === t.transferId);
        if (i >= 0) this.transfers[i] = t;
        else this.transfers.push(t);
        const view = this.refreshWhenDone[t.transferId];
        if (view && (t.state === 'done' || t.state === 'failed' || t.state === 'cancelled')) {
          delete this.refreshWhenDone[t.transferId];
          if (view.browserId) void view.refresh();
        }
        // Kept for a retry while it failed or was cancelled.
        if (t.state === 'done' || t.state === 'skipped') delete this.streams[t.transferId];
      }),
      backend.on('files.queue', (q) => (this.queue = q)),
      backend.on('files.pull', (p) => void this.answerPull(p)),
    ];
  }

  get active(): FilesView | undefined {
    return this.views.find((v) => v.id === this.activeId);
  }
  get docked(): FilesView | undefined {
    return this.views.find((v) => v.id === this.dockedId);
  }

  /** Opens (or brings forward) the Files view of a host; `startAt`: the folder to list first (bytes, base64). */
  open(target: TabTarget, opts: { startAt?: string; dock?: boolean } = {}): FilesView {
    const key = targetKey(target);
    let view = this.views.find((v) => v.key === key && (opts.dock ? v.id === this.dockedId : v.id !== this.dockedId));
    if (!view) {
      view = new FilesView(this, target, opts.startAt);
      this.views.push(view);
      void view.open();
    } else if (opts.startAt && view.browserId) {
      void view.list({ path: opts.startAt }).catch(() => undefined);
    }
    if (opts.dock) this.dockedId = view.id;
    else this.activeId = view.id;
    void this.loadDownloads();
    return view;
  }

  close(id: string): void {
    const i = this.views.findIndex((v) => v.id === id);
    if (i < 0) return;
    const [view] = this.views.splice(i, 1);
    view?.close();
    if (this.dockedId === id) this.dockedId = undefined;
    if (this.activeId === id) this.activeId = this.views.filter((v) => v.id !== this.dockedId)[Math.max(0, i - 1)]?.id;
  }

  /** Lists `view` again once the transfer finishes (what was uploaded shows). */
  watch(transferId: string, view: FilesView): void {
    const known = this.transfers.find((t) => t.transferId === transferId);
    if (known && ['done', 'failed', 'cancelled', 'skipped'].includes(known.state)) void view.refresh();
    else this.refreshWhenDone[transferId] = view;
  }

  async loadDownloads(choose = false): Promise<void> {
    try {
      this.downloadsFolder = (await this.backend.invoke('files.downloads', { choose })).folder;
    } catch {
      /* shown as unknown */
    }
  }

  async uploadStream(view: FilesView, files: Array<{ file: File; name: string }>, sudo: boolean): Promise<void> {
    if (!files.length) return;
    const { transferId } = await this.backend.invoke('files.uploadStream', {
      ...hostRefOf(view.target),
      dir: view.path,
      files: files.map((f) => ({ name: f.name, size: f.file.size, executable: false })),
      sudo,
    });
    this.streams[transferId] = files.map((f) => f.file);
    this.watch(transferId, view);
  }

  /** Main asks for a range of a file the person gave: read it and send it. */
  private async answerPull(p: { transferId: string; file: number; offset: number; length: number }): Promise<void> {
    // The call that started the transfer may still be on its way back: wait for it a little.
    for (let i = 0; i < 50 && !this.streams[p.transferId]; i++) await new Promise((r) => setTimeout(r, 20));
    const file = this.streams[p.transferId]?.[p.file];
    if (!file) return;
    const bytes = new Uint8Array(await file.slice(p.offset, p.offset + p.length).arrayBuffer());
    await this.backend.invoke('files.push', { transferId: p.transferId, file: p.file, offset: p.offset, data: bytesToB64(bytes) }).catch(() => undefined);
  }

  cancel(id: string): Promise<unknown> {
    return this.backend.invoke('files.cancel', { transferId: id }).catch(() => undefined);
  }
  retry(id: string): Promise<unknown> {
    return this.backend.invoke('files.retry', { transferId: id }).catch(() => undefined);
  }
  answer(id: string, choice: ConflictChoice, applyToAll: boolean): Promise<unknown> {
    return this.backend.invoke('files.answer', { transferId: id, choice, applyToAll }).catch(() => undefined);
  }
  async clear(): Promise<void> {
    await this.backend.invoke('files.clear', {}).catch(() => undefined);
    this.transfers = this.transfers.filter((t) => !['done', 'failed', 'cancelled', 'skipped'].includes(t.state));
  }

  dispose(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    for (const v of this.views) v.close();
  }
}

import { EventEmitter } from 'node:events';
import type {
  App,
  BrowserWindow,
  BrowserWindowConstructorOptions,
  CallbackResponse,
  ContextBridge,
  CustomScheme,
  Dialog,
  Event as ElectronEvent,
  HandlerDetails,
  IpcMain,
  IpcMainEvent,
  IpcMainInvokeEvent,
  IpcRenderer,
  IpcRendererEvent,
  OnBeforeRequestListenerDetails,
  Protocol,
  Session,
  Shell,
  WebContents,
  WebContentsWillNavigateEventParams,
  WebFrameMain,
  WebPreferences,
  WebRequest,
  WindowOpenHandlerResponse,
} from 'electron';

/**
 * A fake of the `electron` module for unit tests of the wiring files (app.ts, window.ts,
 * ipc-electron.ts, the preload), which the Electron binary cannot run here. It behaves as
 * Electron does where the app relies on it, including the defaults that make a missing handler
 * dangerous: a new window, a navigation and a permission request all go ahead unless a handler
 * says no. What crosses IPC is structured-cloned, as Electron does. Each part is checked against
 * electron.d.ts (`satisfies Pick<…>` / `implements Pick<…>`), so a signature change in Electron
 * fails the type check instead of leaving the fake behind.
 *
 * Test-side controls (emitReady, navigate, openWindow, invoke, …) are the events Chromium and
 * Electron would produce; they are not part of the electron API.
 */

/** An Electron `Event`: preventDefault sets defaultPrevented, plus the event's own fields. */
function electronEvent<P extends object>(params: P = {} as P): ElectronEvent<P> {
  const event = {
    ...params,
    defaultPrevented: false,
    preventDefault() {
      event.defaultPrevented = true;
    },
  };
  return event;
}

let nextId = 1;

// The events the fake emits, with the arguments Electron gives their listeners; checked against
// electron.d.ts in listenersMatchElectron below.
type WillNavigateArgs = [ElectronEvent<WebContentsWillNavigateEventParams>, string, boolean, boolean, number, number];
type WillAttachWebviewArgs = [ElectronEvent, WebPreferences, Record<string, string>];
type WebContentsCreatedArgs = [ElectronEvent, WebContents];
type BrowserWindowCreatedArgs = [ElectronEvent, BrowserWindow];
type SecondInstanceArgs = [ElectronEvent, string[], string, unknown];
type ReadyToShowArgs = [];
type IpcMainArgs = [IpcMainEvent, ...unknown[]];
type IpcRendererArgs = [IpcRendererEvent, ...unknown[]];

/** Emits `name` with exactly the arguments its listeners are declared to take. */
function emit<A extends unknown[]>(target: EventEmitter, name: string, ...args: A): void {
  target.emit(name, ...args);
}

/**
 * Compile-time only: each event the fake emits carries what electron.d.ts says its listeners
 * receive (a listener taking the fake's arguments must be acceptable to Electron's `on`).
 */
export function listenersMatchElectron(app: App, win: BrowserWindow, wc: WebContents, ipcMain: IpcMain, ipcRenderer: IpcRenderer): void {
  wc.on('will-navigate', (...args: WillNavigateArgs) => void args);
  wc.on('will-attach-webview', (...args: WillAttachWebviewArgs) => void args);
  app.on('web-contents-created', (...args: WebContentsCreatedArgs) => void args);
  app.on('browser-window-created', (...args: BrowserWindowCreatedArgs) => void args);
  app.on('second-instance', (...args: SecondInstanceArgs) => void args);
  app.on('window-all-closed', (...args: []) => void args);
  win.once('ready-to-show', (...args: ReadyToShowArgs) => void args);
  ipcMain.on('channel', (...args: IpcMainArgs) => void args);
  ipcRenderer.on('channel', (...args: IpcRendererArgs) => void args);
}

export class FakeWebFrameMain implements Pick<WebFrameMain, 'url' | 'origin' | 'parent' | 'processId' | 'routingId' | 'frameTreeNodeId' | 'detached'> {
  readonly processId = 100;
  readonly routingId = nextId++;
  readonly frameTreeNodeId = nextId++;
  detached = false;
  constructor(
    public url: string,
    readonly parent: WebFrameMain | null = null,
  ) {}
  get origin(): string {
    try {
      return new URL(this.url).origin;
    } catch {
      return 'null';
    }
  }
}

/** A frame as the app sees it through Electron's typings. */
export const asFrame = (f: FakeWebFrameMain) => f as unknown as WebFrameMain;

export class FakeWebContents extends EventEmitter implements Pick<WebContents, 'id' | 'mainFrame' | 'setWindowOpenHandler' | 'send' | 'isDestroyed'> {
  readonly id = nextId++;
  readonly frame = new FakeWebFrameMain('about:blank');
  /** What main sent to the page (webContents.send), as the page would receive it. */
  readonly sent: unknown[][] = [];
  private windowOpenHandler: ((details: HandlerDetails) => WindowOpenHandlerResponse) | undefined;
  destroyed = false;

  constructor(private readonly electron: FakeElectron) {
    super();
  }

  get mainFrame(): WebFrameMain {
    return asFrame(this.frame);
  }

  setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse): void {
    this.windowOpenHandler = handler;
  }

  send(channel: string, ...args: unknown[]): void {
    if (this.destroyed) throw new Error('Object has been destroyed');
    this.sent.push([channel, ...structuredClone(args)]);
    if (this.electron.page?.contents === this) this.electron.deliverToPage(channel, ...args);
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }

  // ---- What the page or Chromium does ----

  /** The page asks to go to `url` (a link, location.href): true when Electron lets it. */
  navigate(url: string, isMainFrame = true): boolean {
    const event = electronEvent({ url, isSameDocument: false, isMainFrame, frame: this.mainFrame, initiator: this.mainFrame });
    emit<WillNavigateArgs>(this, 'will-navigate', event, url, false, isMainFrame, this.frame.processId, this.frame.routingId);
    if (event.defaultPrevented) return false;
    if (isMainFrame) this.frame.url = url;
    return true;
  }

  /** window.open / target=_blank: what Electron does with it ('allow' is Electron's default). */
  openWindow(url: string): WindowOpenHandlerResponse['action'] {
    const details: HandlerDetails = { url, frameName: '', features: '', disposition: 'foreground-tab', referrer: { url: this.frame.url, policy: 'strict-origin-when-cross-origin' } };
    return this.windowOpenHandler ? this.windowOpenHandler(details).action : 'allow';
  }

  /** A <webview> is about to be attached: true when it is. */
  attachWebview(src: string): boolean {
    const event = electronEvent();
    emit<WillAttachWebviewArgs>(this, 'will-attach-webview', event, { nodeIntegration: false }, { src });
    return !event.defaultPrevented;
  }

  /** ipcRenderer.invoke from `frame` of this page, answered by ipcMain.handle as the renderer sees it. */
  async invoke(channel: string, frame: FakeWebFrameMain | null, ...args: unknown[]): Promise<unknown> {
    const handler = this.electron.ipcMainHandlers.get(channel);
    if (!handler) throw new Error(`Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`);
    const event = electronEvent({ frameId: frame?.routingId ?? -1, processId: frame?.processId ?? -1, sender: this as unknown as WebContents, senderFrame: frame && asFrame(frame), type: 'frame' as const });
    return structuredClone(await handler(event, ...structuredClone(args)));
  }

  /** ipcRenderer.send from `frame` of this page (one-way). */
  sendToMain(channel: string, frame: FakeWebFrameMain | null, ...args: unknown[]): void {
    const event = electronEvent({
      frameId: frame?.routingId ?? -1,
      processId: frame?.processId ?? -1,
      sender: this as unknown as WebContents,
      senderFrame: frame && asFrame(frame),
      type: 'frame' as const,
      ports: [],
      returnValue: undefined,
      reply: () => {},
    }) as IpcMainEvent;
    emit<IpcMainArgs>(this.electron.ipcMain, channel, event, ...structuredClone(args));
  }
}

export class FakeBrowserWindow extends EventEmitter implements Pick<BrowserWindow, 'webContents' | 'isMinimized' | 'restore' | 'minimize' | 'focus' | 'isFocused' | 'show' | 'isVisible' | 'loadURL' | 'isDestroyed'> {
  readonly contents: FakeWebContents;
  readonly options: BrowserWindowConstructorOptions;
  minimized = false;
  focused = false;
  visible: boolean;
  readonly loaded: string[] = [];

  constructor(electron: FakeElectron, options: BrowserWindowConstructorOptions = {}) {
    super();
    if (!electron.ready) throw new Error('Cannot create BrowserWindow before app is ready');
    this.options = structuredClone(options);
    this.visible = options.show ?? true;
    this.contents = new FakeWebContents(electron);
    electron.windows.push(this);
    emit<WebContentsCreatedArgs>(electron.app, 'web-contents-created', electronEvent(), this.webContents);
    emit<BrowserWindowCreatedArgs>(electron.app, 'browser-window-created', electronEvent(), this as unknown as BrowserWindow);
  }

  get webContents(): WebContents {
    return this.contents as unknown as WebContents;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  minimize(): void {
    this.minimized = true;
    this.focused = false;
  }
  restore(): void {
    this.minimized = false;
  }
  focus(): void {
    this.focused = true;
  }
  isFocused(): boolean {
    return this.focused;
  }
  show(): void {
    this.visible = true;
    this.focused = true;
  }
  isVisible(): boolean {
    return this.visible;
  }
  isDestroyed(): boolean {
    return this.contents.destroyed;
  }
  /** Loads `url` in the main frame; once the page has painted, Electron says ready-to-show. */
  async loadURL(url: string): Promise<void> {
    this.loaded.push(url);
    this.contents.frame.url = url;
    setImmediate(() => emit<ReadyToShowArgs>(this, 'ready-to-show'));
  }
}

/** Everything the app uses from `electron`, each part typed as electron.d.ts declares it. */
// Event methods (on, once, removeListener) are Node's EventEmitter's in the fake; what they carry
// is checked by listenersMatchElectron.
export interface ElectronSurface {
  app: Pick<App, 'requestSingleInstanceLock' | 'quit' | 'whenReady' | 'isReady' | 'getVersion' | 'getLocale' | 'getAppPath'>;
  BrowserWindow: new (options?: BrowserWindowConstructorOptions) => Pick<BrowserWindow, 'webContents' | 'isMinimized' | 'restore' | 'focus' | 'show' | 'loadURL' | 'isDestroyed'>;
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  ipcRenderer: Pick<IpcRenderer, 'invoke' | 'send'>;
  contextBridge: Pick<ContextBridge, 'exposeInMainWorld'>;
  protocol: Pick<Protocol, 'registerSchemesAsPrivileged' | 'handle' | 'isProtocolHandled'>;
  session: { defaultSession: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'> & { webRequest: Pick<WebRequest, 'onBeforeRequest'> } };
  shell: Pick<Shell, 'openExternal'>;
  dialog: Pick<Dialog, 'showOpenDialog'>;
}

type PermissionRequestHandler = Parameters<Session['setPermissionRequestHandler']>[0];
type PermissionCheckHandler = Parameters<Session['setPermissionCheckHandler']>[0];
type Permission = Parameters<NonNullable<PermissionCheckHandler>>[1];
type BeforeRequest = (details: OnBeforeRequestListenerDetails, callback: (response: CallbackResponse) => void) => void;

export class FakeElectron {
  ready = false;
  singleInstanceLock = true;
  appPath = '/nonexistent';
  quitCalls = 0;
  readonly windows: FakeBrowserWindow[] = [];
  readonly ipcMainHandlers = new Map<string, (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown>();
  readonly privilegedSchemes: CustomScheme[] = [];
  readonly protocolHandlers = new Map<string, (request: Request) => Response | Promise<Response>>();
  /** window.* as the page's main world sees it after the preload ran. */
  readonly mainWorld: Record<string, unknown> = {};
  readonly openedExternally: string[] = [];
  private permissionRequestHandler: PermissionRequestHandler = null;
  private permissionCheckHandler: PermissionCheckHandler = null;
  private beforeRequest: BeforeRequest | null = null;
  private readonly readyWaiters: Array<() => void> = [];
  private readonly rendererSide = new EventEmitter();
  /** The page the preload runs in, for ipcRenderer calls. */
  page: { contents: FakeWebContents; frame: FakeWebFrameMain } | undefined;

  readonly app = Object.assign(new EventEmitter(), {
    requestSingleInstanceLock: (): boolean => this.singleInstanceLock,
    quit: (): void => {
      this.quitCalls++;
    },
    whenReady: (): Promise<void> => (this.ready ? Promise.resolve() : new Promise<void>((resolve) => this.readyWaiters.push(resolve))),
    isReady: (): boolean => this.ready,
    getVersion: (): string => '9.8.7',
    getLocale: (): string => 'ja',
    getAppPath: (): string => this.appPath,
  }) satisfies ElectronSurface['app'];

  readonly ipcMain = Object.assign(new EventEmitter(), {
    handle: (channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void => {
      if (this.ipcMainHandlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      this.ipcMainHandlers.set(channel, listener);
    },
    removeHandler: (channel: string): void => {
      this.ipcMainHandlers.delete(channel);
    },
  }) satisfies ElectronSurface['ipcMain'];

  readonly ipcRenderer = Object.assign(this.rendererSide, {
    invoke: async (channel: string, ...args: unknown[]): Promise<unknown> => {
      const page = this.pageOrThrow();
      return page.contents.invoke(channel, page.frame, ...args);
    },
    send: (channel: string, ...args: unknown[]): void => {
      const page = this.pageOrThrow();
      page.contents.sendToMain(channel, page.frame, ...args);
    },
  }) satisfies ElectronSurface['ipcRenderer'];

  readonly contextBridge = {
    exposeInMainWorld: (apiKey: string, api: unknown): void => {
      if (apiKey in this.mainWorld) throw new Error(`Cannot bind an API on top of an existing property on the window object`);
      this.mainWorld[apiKey] = api;
    },
  } satisfies ElectronSurface['contextBridge'];

  readonly protocol = {
    registerSchemesAsPrivileged: (customSchemes: CustomScheme[]): void => {
      if (this.ready) throw new Error('protocol.registerSchemesAsPrivileged should be called before app is ready');
      this.privilegedSchemes.push(...structuredClone(customSchemes));
    },
    handle: (scheme: string, handler: (request: Request) => Response | Promise<Response>): void => {
      if (!this.ready) throw new Error('protocol.handle is only available after the app is ready');
      if (this.protocolHandlers.has(scheme)) throw new Error(`Failed to register protocol: ${scheme}`);
      this.protocolHandlers.set(scheme, handler);
    },
    isProtocolHandled: (scheme: string): boolean => this.protocolHandlers.has(scheme),
  } satisfies ElectronSurface['protocol'];

  readonly session = {
    defaultSession: {
      setPermissionRequestHandler: (handler: PermissionRequestHandler): void => {
        this.permissionRequestHandler = handler;
      },
      setPermissionCheckHandler: (handler: PermissionCheckHandler): void => {
        this.permissionCheckHandler = handler;
      },
      webRequest: {
        onBeforeRequest: (filterOrListener: unknown, listener?: BeforeRequest | null): void => {
          this.beforeRequest = typeof filterOrListener === 'function' ? (filterOrListener as BeforeRequest) : (listener ?? null);
        },
      },
    },
  } satisfies ElectronSurface['session'];

  readonly shell = {
    openExternal: async (url: string): Promise<void> => {
      this.openedExternally.push(url);
    },
  } satisfies ElectronSurface['shell'];

  readonly dialog = {
    showOpenDialog: async () => ({ canceled: true, filePaths: [] as string[] }),
  } satisfies ElectronSurface['dialog'];

  readonly BrowserWindow: new (options?: BrowserWindowConstructorOptions) => FakeBrowserWindow;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the class below closes over this fake
    const electron = this;
    this.BrowserWindow = class extends FakeBrowserWindow {
      constructor(options?: BrowserWindowConstructorOptions) {
        super(electron, options);
      }
    };
  }

  // ---- What Electron and Chromium do ----

  /** The app is ready (Electron emits this once the main script has run). */
  emitReady(): void {
    this.ready = true;
    this.app.emit('ready', electronEvent(), {});
    for (const w of this.readyWaiters.splice(0)) w();
  }

  /** Another start of the app: Electron gives the instance holding the lock this event. */
  secondInstance(argv: string[] = ['keyless']): void {
    emit<SecondInstanceArgs>(this.app, 'second-instance', electronEvent(), argv, '/', {});
  }

  /** Chromium's request for `permission` from `contents`: granted when no handler says otherwise. */
  async requestPermission(contents: FakeWebContents, permission: Permission): Promise<boolean> {
    const handler = this.permissionRequestHandler;
    if (!handler) return true;
    return new Promise((resolve) =>
      handler(contents as unknown as WebContents, permission, resolve, { isMainFrame: true, requestingUrl: contents.frame.url }),
    );
  }

  /** Chromium's synchronous permission check (e.g. navigator.clipboard): granted without a handler. */
  checkPermission(contents: FakeWebContents | null, permission: Permission, origin: string): boolean {
    const handler = this.permissionCheckHandler;
    return handler ? handler(contents as unknown as WebContents | null, permission, origin, { isMainFrame: true, requestingUrl: origin }) : true;
  }

  /** A network request from the page: false when onBeforeRequest cancels it. */
  async request(url: string, contents?: FakeWebContents): Promise<boolean> {
    const listener = this.beforeRequest;
    if (!listener) return true;
    const details: OnBeforeRequestListenerDetails = {
      id: nextId++,
      url,
      method: 'GET',
      resourceType: 'other',
      referrer: '',
      timestamp: Date.now(),
      uploadData: [],
      ...(contents ? { webContentsId: contents.id, webContents: contents as unknown as WebContents } : {}),
    };
    return new Promise((resolve) => listener(details, (response) => resolve(!response.cancel)));
  }

  /** Loads `url` through the app's protocol handler, as the page would. */
  async fetch(url: string): Promise<Response> {
    const scheme = new URL(url).protocol.slice(0, -1);
    const handler = this.protocolHandlers.get(scheme);
    if (!handler) throw new Error(`net::ERR_UNKNOWN_URL_SCHEME ${url}`);
    return handler(new Request(url));
  }

  /** The page the preload runs in (ipcRenderer calls come from its main frame unless told). */
  runPreloadIn(contents: FakeWebContents, frame = contents.frame): void {
    this.page = { contents, frame };
  }

  /** main → page event, as the preload's ipcRenderer.on listeners receive it. */
  deliverToPage(channel: string, ...args: unknown[]): void {
    const event = { sender: this.ipcRenderer, senderId: 0, ports: [] } as unknown as IpcRendererEvent;
    emit<IpcRendererArgs>(this.rendererSide, channel, event, ...structuredClone(args));
  }

  private pageOrThrow() {
    if (!this.page) throw new Error('ipcRenderer used outside a page');
    return this.page;
  }
}

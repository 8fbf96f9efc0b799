import type { ITheme } from '@xterm/xterm';
import type { TerminalTheme } from '../../../electron/contract';

const dark: ITheme = { background: '#1e1e1e', foreground: '#d4d4d4', cursor: '#d4d4d4', selectionBackground: '#264f78' };
const light: ITheme = {
  background: '#ffffff', foreground: '#333333', cursor: '#333333', selectionBackground: '#add6ff',
  black: '#000000', red: '#cd3131', green: '#00bc00', yellow: '#949800', blue: '#0451a5', magenta: '#bc05bc', cyan: '#0598bc', white: '#555555',
  brightBlack: '#666666', brightRed: '#cd3131', brightGreen: '#14ce14', brightYellow: '#b5ba00', brightBlue: '#0451a5', brightMagenta: '#bc05bc', brightCyan: '#0598bc', brightWhite: '#a5a5a5',
};
const solarized = {
  black: '#073642', red: '#dc322f', green: '#859900', yellow: '#b58900', blue: '#268bd2', magenta: '#d33682', cyan: '#2aa198', white: '#eee8d5',
  brightBlack: '#002b36', brightRed: '#cb4b16', brightGreen: '#586e75', brightYellow: '#657b83', brightBlue: '#839496', brightMagenta: '#6c71c4', brightCyan: '#93a1a1', brightWhite: '#fdf6e3',
};

/** The named themes; `system` picks dark or light from the OS and follows it when it changes. */
export const THEMES: Record<Exclude<TerminalTheme, 'system'>, ITheme> = {
  dark,
  light,
  'solarized-dark': { ...solarized, background: '#002b36', foreground: '#839496', cursor: '#93a1a1', selectionBackground: '#073642' },
  'solarized-light': { ...solarized, background: '#fdf6e3', foreground: '#657b83', cursor: '#586e75', selectionBackground: '#eee8d5' },
  dracula: {
    background: '#282a36', foreground: '#f8f8f2', cursor: '#f8f8f2', selectionBackground: '#44475a',
    black: '#21222c', red: '#ff5555', green: '#50fa7b', yellow: '#f1fa8c', blue: '#bd93f9', magenta: '#ff79c6', cyan: '#8be9fd', white: '#f8f8f2',
    brightBlack: '#6272a4', brightRed: '#ff6e6e', brightGreen: '#69ff94', brightYellow: '#ffffa5', brightBlue: '#d6acff', brightMagenta: '#ff92df', brightCyan: '#a4ffff', brightWhite: '#ffffff',
  },
  'high-contrast': { background: '#000000', foreground: '#ffffff', cursor: '#ffff00', selectionBackground: '#ffffff', selectionForeground: '#000000' },
};

export function themeFor(name: TerminalTheme, osPrefersDark: boolean): ITheme {
  return name === 'system' ? (osPrefersDark ? dark : light) : THEMES[name];
}

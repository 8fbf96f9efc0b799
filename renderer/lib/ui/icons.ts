import type { Component } from 'svelte';
import Server from '@lucide/svelte/icons/server';
import Cloud from '@lucide/svelte/icons/cloud';
import Folder from '@lucide/svelte/icons/folder';
import FolderOpen from '@lucide/svelte/icons/folder-open';
import Zap from '@lucide/svelte/icons/zap';
import Ellipsis from '@lucide/svelte/icons/ellipsis';
import ChevronRight from '@lucide/svelte/icons/chevron-right';
import ChevronDown from '@lucide/svelte/icons/chevron-down';
import Plug from '@lucide/svelte/icons/plug';
import Copy from '@lucide/svelte/icons/copy';
import Trash from '@lucide/svelte/icons/trash-2';
import Pencil from '@lucide/svelte/icons/pencil';
import Terminal from '@lucide/svelte/icons/terminal';
import Search from '@lucide/svelte/icons/search';
import Plus from '@lucide/svelte/icons/plus';
import FolderPlus from '@lucide/svelte/icons/folder-plus';
import X from '@lucide/svelte/icons/x';
import Files from '@lucide/svelte/icons/files';
import ArrowLeftRight from '@lucide/svelte/icons/arrow-left-right';
import Radio from '@lucide/svelte/icons/radio';
import Shield from '@lucide/svelte/icons/shield-check';
import Star from '@lucide/svelte/icons/star';
import Circle from '@lucide/svelte/icons/circle-dot';
import Import from '@lucide/svelte/icons/import';
import Download from '@lucide/svelte/icons/download';
import Upload from '@lucide/svelte/icons/upload';
import Play from '@lucide/svelte/icons/play';
import Info from '@lucide/svelte/icons/info';
import AlertTriangle from '@lucide/svelte/icons/triangle-alert';
import CircleX from '@lucide/svelte/icons/circle-x';
import CheckCircle from '@lucide/svelte/icons/circle-check';
import KeyRound from '@lucide/svelte/icons/key-round';
import Sparkles from '@lucide/svelte/icons/sparkles';
import Copies from '@lucide/svelte/icons/copy-plus';
import SquareTerminal from '@lucide/svelte/icons/square-terminal';
import Stethoscope from '@lucide/svelte/icons/stethoscope';
import ScrollText from '@lucide/svelte/icons/scroll-text';

/**
 * The icons the app uses, by the name views ask for. One set (Lucide), drawn at 16 px with the
 * text's colour; a name not listed here is a type error, so the set stays small and consistent.
 */
export const ICONS = {
  ssh: Server,
  ec2: Cloud,
  group: Folder,
  groupOpen: FolderOpen,
  smart: Zap,
  more: Ellipsis,
  collapsed: ChevronRight,
  expanded: ChevronDown,
  connect: Plug,
  copy: Copy,
  duplicate: Copies,
  delete: Trash,
  edit: Pencil,
  terminal: Terminal,
  search: Search,
  add: Plus,
  addGroup: FolderPlus,
  close: X,
  files: Files,
  forwards: ArrowLeftRight,
  broadcast: Radio,
  policy: Shield,
  favourite: Star,
  recorded: Circle,
  import: Import,
  export: Download,
  upload: Upload,
  run: Play,
  info: Info,
  warning: AlertTriangle,
  error: CircleX,
  success: CheckCircle,
  key: KeyRound,
  demo: Sparkles,
  runCommand: SquareTerminal,
  doctor: Stethoscope,
  audit: ScrollText,
} satisfies Record<string, Component<{ size?: number | string; strokeWidth?: number | string; 'aria-hidden'?: boolean | 'true' | 'false'; class?: string }>>;

export type IconName = keyof typeof ICONS;

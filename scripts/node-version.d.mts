export const pinnedNodeVersion: string;
export function nodeVersionWarning(running?: string): string | undefined;
export function warnIfNotPinnedNode(): void;

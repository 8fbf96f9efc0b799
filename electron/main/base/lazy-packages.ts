import type writeFileAtomicType from 'write-file-atomic';
import type lockfileType from 'proper-lockfile';

// Loaded at the first write or lock, not at start: the `keyless` command starts twice on each ssh's
// critical path and mostly only reads (proper-lockfile alone installs signal-exit's handlers).

/** write-file-atomic's `writeFile`. */
export async function writeFileAtomic(...args: Parameters<typeof writeFileAtomicType>): Promise<void> {
  const { default: write } = await import('write-file-atomic');
  await write(...args);
}

/** proper-lockfile's `lock`. */
export async function lockFile(...args: Parameters<typeof lockfileType.lock>): ReturnType<typeof lockfileType.lock> {
  const { default: lockfile } = await import('proper-lockfile');
  return lockfile.lock(...args);
}

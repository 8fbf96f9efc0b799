import type { ErrorCode, KeylessError } from '../../contract';

type Detail = NonNullable<KeylessError['detail']>;

/**
 * Thrown inside main; converted to plain `KeylessError` data at the boundary. Only this file
 * knows the class: nothing but data ever crosses to the renderer.
 */
export class KeylessFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryable = false,
    readonly detail?: Detail,
  ) {
    super(message);
    this.name = 'KeylessFailure';
  }

  toData(): KeylessError {
    return this.detail
      ? { code: this.code, message: this.message, retryable: this.retryable, detail: this.detail }
      : { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function fail(code: ErrorCode, message: string, detail?: Detail, retryable = false): never {
  throw new KeylessFailure(code, message, retryable, detail);
}

/** Anything thrown becomes data; unknown errors become `Internal` without their stack. */
export function toKeylessError(err: unknown): KeylessError {
  if (err instanceof KeylessFailure) return err.toData();
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: 'Cancelled', message: 'The operation was cancelled.', retryable: true };
  }
  return { code: 'Internal', message: 'Something went wrong inside Keyless.', retryable: false };
}

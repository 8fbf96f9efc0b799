import { KeylessFailure } from '../base/errors';
import { SftpError, STATUS } from '../ssh/sftp';

export type Side = 'local' | 'remote';

/** An SFTP status as an error a person can act on, naming the file (as shown) and the host. */
export function remoteFailure(err: unknown, path: string, host: string, bytes?: Buffer): KeylessFailure {
  if (err instanceof KeylessFailure) return err;
  if (!(err instanceof SftpError)) return new KeylessFailure('SftpFailed', `SFTP on ${host} failed for ${path}.`, false, { path, host, side: 'remote', message: String((err as Error)?.message ?? err).slice(0, 200) });
  const where = { path, host, side: 'remote' as const };
  switch (err.status) {
    case STATUS.NO_SUCH_FILE:
      return new KeylessFailure('FileNotFound', `${path} does not exist on ${host}.`, false, where);
    case STATUS.PERMISSION_DENIED:
      return new KeylessFailure('FilePermissionDenied', `${host} does not let this user at ${path}.`, false, where);
    case STATUS.CONNECTION_LOST:
    case STATUS.NO_CONNECTION:
      return new KeylessFailure('NetworkError', `The connection to ${host} was lost while moving ${path}.`, true, { host, path, cause: 'lost' });
    case STATUS.BAD_MESSAGE:
      // sftp-server answers ENAMETOOLONG (and EINVAL) so.
      if (bytes && (bytes.length >= 4096 || bytes.toString('latin1').split('/').some((part) => part.length > 255))) {
        return new KeylessFailure('PathTooLong', `${path} is longer than ${host} allows.`, false, where);
      }
      break;
    case STATUS.OP_UNSUPPORTED:
      return new KeylessFailure('SftpFailed', `${host}'s SFTP server does not do this for ${path}.`, false, { ...where, message: 'unsupported' });
  }
  // sshd's sftp-server reports EEXIST, ENOSPC and the rest as a generic failure ("Failure"):
  // whether the disk is full is asked with statvfs by the transfer that met it. Other servers
  // put the errno's text in the message.
  const message = err.message.slice(0, 200);
  if (/file name too long/i.test(message)) return new KeylessFailure('PathTooLong', `${path} is longer than ${host} allows.`, false, where);
  if (/no space left/i.test(message)) return new KeylessFailure('DiskFull', `${host} has no space left for ${path}.`, false, where);
  return new KeylessFailure('SftpFailed', `${host}'s SFTP server refused ${path}: ${message}.`, false, { ...where, message });
}

/** A local file system error, naming the file. */
export function localFailure(err: unknown, path: string): KeylessFailure {
  if (err instanceof KeylessFailure) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const where = { path, side: 'local' as const };
  switch (code) {
    case 'ENOENT':
      return new KeylessFailure('FileNotFound', `${path} does not exist on this computer.`, false, where);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new KeylessFailure('FilePermissionDenied', `This computer does not let Keyless at ${path}.`, false, where);
    case 'ENOSPC':
    case 'EDQUOT':
      return new KeylessFailure('DiskFull', `This computer has no space left for ${path}.`, false, where);
    case 'ENAMETOOLONG':
      return new KeylessFailure('PathTooLong', `${path} is longer than this computer allows.`, false, where);
    case 'EEXIST':
      return new KeylessFailure('FileExists', `${path} already exists.`, false, where);
    case 'ELOOP':
      return new KeylessFailure('FileNotRegular', `${path} is a symbolic link that loops.`, false, { ...where, reason: 'symlinkLoop' });
  }
  return new KeylessFailure('SftpFailed', `Keyless could not use ${path} (${code ?? 'error'}).`, false, { ...where, message: String(code ?? 'error') });
}

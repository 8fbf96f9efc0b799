/**
 * The one logger. It takes a message and a few named facts, never payloads: no terminal data,
 * no keys, no tokens, no presigned URLs. Facts whose names look secret are masked anyway.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFacts = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, facts?: LogFacts): void;
  info(msg: string, facts?: LogFacts): void;
  warn(msg: string, facts?: LogFacts): void;
  error(msg: string, facts?: LogFacts): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const SECRET_NAME = /secret|token|password|passphrase|private|signature|credential|url/i;

export function createLogger(
  scope: string,
  sink: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  min: LogLevel = (process.env.KEYLESS_LOG as LogLevel | undefined) ?? 'info',
): Logger {
  const write = (level: LogLevel, msg: string, facts?: LogFacts) => {
    if (ORDER[level] < (ORDER[min] ?? 1)) return;
    let line = `${new Date().toISOString()} ${level.toUpperCase()} [${scope}] ${msg}`;
    if (facts) {
      for (const [k, v] of Object.entries(facts)) {
        if (v === undefined) continue;
        line += ` ${k}=${SECRET_NAME.test(k) ? '[redacted]' : JSON.stringify(v)}`;
      }
    }
    sink(line);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

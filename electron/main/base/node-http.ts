import { createRequire } from 'node:module';
import type * as NodeHttp from 'node:http';

/**
 * `node:http` through require, never `import … from 'node:http'`: importing it as an ES module
 * makes Node build its ESM facade, which reads every export, the lazy `WebSocket` among them, and
 * that loads undici (fetch's engine, about 13 MB of RSS) that nothing here uses. Measured with
 * the startup bench; `node:https` has no such export and is imported as usual.
 */
export const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;

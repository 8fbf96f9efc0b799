import { readFile, realpath } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { CONTENT_SECURITY_POLICY, CONTENT_TYPES } from './harness-server';

export const APP_SCHEME = 'app';
export const APP_HOST = 'keyless';

/** On every answer, refusals included: a page that ever loads from app:// gets the CSP. */
const HEADERS = { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff' };

/**
 * The app:// handler of the Electron window: files of the bundled renderer folder and nothing
 * else. The path is decoded once and must stay inside the folder after normalising (`..`, `%2e%2e`,
 * `..%2f`), and again after symbolic links are resolved (a link inside pointing outside is
 * refused). Anything wrong, unreadable or malformed is a plain 404, never a thrown error.
 */
export function serveAppFiles(rendererDir: string): (request: Request) => Promise<Response> {
  const root = normalize(rendererDir);
  const realRoot = realpath(root).catch(() => undefined);
  const notFound = () => new Response('Not found', { status: 404, headers: { ...HEADERS, 'Content-Type': 'text/plain' } });
  const inside = (dir: string, file: string) => file.startsWith(dir + sep);
  return async (request) => {
    try {
      const url = new URL(request.url);
      if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return notFound();
      const path = decodeURIComponent(url.pathname);
      if (path.includes('\0')) return notFound();
      const file = normalize(join(root, path));
      const realDir = await realRoot;
      if (!realDir || !inside(root, file)) return notFound();
      const real = await realpath(file);
      if (!inside(realDir, real)) return notFound();
      const body = await readFile(real);
      return new Response(body, { headers: { ...HEADERS, 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' } });
    } catch {
      return notFound();
    }
  };
}

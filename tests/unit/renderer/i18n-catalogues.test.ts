import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONNECT_STEPS, ERROR_CODES, languageSchema, sessionStateSchema } from '../../../electron/contract';
import { en } from '../../../electron/contract/i18n/en';
import { ja } from '../../../electron/contract/i18n/ja';
import { errorWords } from '../../../electron/contract/i18n/error-words';

const catalogues = { en, ja } as Record<string, Record<string, string>>;
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : /\.(svelte|ts)$/.test(name) ? [p] : [];
  });
}

describe('the English and Japanese catalogues', () => {
  it('have the same keys and the same placeholders in each message', () => {
    expect(Object.keys(ja).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en) as Array<keyof typeof en>) {
      expect(placeholders(ja[key]), key).toEqual(placeholders(en[key]));
      expect(ja[key].trim(), key).not.toBe('');
    }
  });

  it('word every error code, every connect step, tab state and language choice', () => {
    const needed = [
      ...ERROR_CODES.map((c) => `error.${c}`),
      ...CONNECT_STEPS.map((s) => `step.${s}`),
      ...sessionStateSchema.options.map((s) => `tab.state.${s}`),
      ...languageSchema.options.map((l) => `settings.language.${l}`),
    ];
    for (const [name, cat] of Object.entries(catalogues)) {
      for (const key of needed) expect(cat[key], `${name} lacks ${key}`).toBeTruthy();
    }
  });

  it('hold every key the renderer asks for', () => {
    const used = new Set<string>();
    for (const file of sources(join(process.cwd(), 'renderer'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bt\(\s*'([\w.]+)'/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(20);
    for (const key of used) {
      expect(en, `en lacks ${key}`).toHaveProperty([key]);
      expect(ja, `ja lacks ${key}`).toHaveProperty([key]);
    }
  });

  it('word a timeout by the step that ran out of time, with nothing left unfilled', () => {
    // The details main gives each timeout (ssh/connection, connect/instance-connector, tunnel/endpoint-tunnel, connect/endpoint-offer).
    const timeouts: Array<Record<string, string | number>> = [
      { host: '10.0.1.5', port: 22, step: 'connect' },
      { host: '10.0.1.5', port: 22, step: 'handshake' },
      { host: '10.0.1.5', port: 22, step: 'authenticate' },
      { step: 'tunnel' },
      { step: 'endpoint', endpointId: 'eice-0123456789abcdef0' },
    ];
    for (const [name, cat] of Object.entries(catalogues)) {
      const words = timeouts.map((detail) => errorWords(cat, { code: 'Timeout', message: 'timed out', retryable: true, detail }));
      for (const w of words) expect(w, name).not.toMatch(/\{\w+\}/);
      expect(new Set(words).size, name).toBe(words.length);
    }
    expect(errorWords(en, { code: 'Timeout', message: 'x', retryable: true, detail: { step: 'tunnel' } })).toContain('Instance Connect Endpoint');
    expect(errorWords(en, { code: 'Timeout', message: 'x', retryable: true, detail: { host: 'db', step: 'handshake' } })).toMatch(/^db accepted the connection.*overloaded/);
    // A step without words of its own keeps the code's.
    expect(errorWords(en, { code: 'Timeout', message: 'x', retryable: true, detail: { host: 'db', step: 'connect' } })).toBe(errorWords(en, { code: 'Timeout', message: 'x', retryable: true, detail: { host: 'db' } }));
  });
});

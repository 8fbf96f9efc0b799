import { join } from 'node:path';
import { settingsSchema, type Settings } from '../../contract';
import { JsonFile } from './json-file';

export class SettingsStore {
  private readonly file: JsonFile<Settings>;

  constructor(home: string) {
    this.file = new JsonFile(join(home, 'settings.json'), settingsSchema, () => ({ language: 'system' }));
  }

  get(): Promise<Settings> {
    return this.file.read();
  }

  async update(patch: Partial<Settings>): Promise<Settings> {
    const next = { ...(await this.file.read()), ...patch };
    await this.file.write(next);
    return next;
  }
}

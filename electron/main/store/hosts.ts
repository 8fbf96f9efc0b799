import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { savedHostSchema, type SavedHost, type SavedHostInput } from '../../contract';
import { fail } from '../base/errors';
import { JsonFile } from './json-file';

const hostsFileSchema = z.object({ version: z.literal(1), hosts: z.array(savedHostSchema) });
type HostsFile = z.infer<typeof hostsFileSchema>;

/** Saved hosts, one JSON file in the data folder. */
export class HostStore {
  private readonly file: JsonFile<HostsFile>;

  constructor(home: string) {
    this.file = new JsonFile(join(home, 'hosts.json'), hostsFileSchema, () => ({ version: 1, hosts: [] }));
  }

  async list(): Promise<SavedHost[]> {
    return (await this.file.read()).hosts;
  }

  async get(id: string): Promise<SavedHost> {
    const host = (await this.list()).find((h) => h.id === id);
    return host ?? fail('NotFound', `No saved host has the id ${id}.`, { id });
  }

  async save(input: SavedHostInput): Promise<SavedHost> {
    const doc = await this.file.read();
    const host: SavedHost = { ...input, id: input.id ?? 'h' + randomBytes(6).toString('hex') };
    const i = doc.hosts.findIndex((h) => h.id === host.id);
    if (i >= 0) doc.hosts[i] = host;
    else doc.hosts.push(host);
    await this.file.write(doc);
    return host;
  }

  async delete(id: string): Promise<void> {
    const doc = await this.file.read();
    const hosts = doc.hosts.filter((h) => h.id !== id);
    if (hosts.length === doc.hosts.length) fail('NotFound', `No saved host has the id ${id}.`, { id });
    await this.file.write({ ...doc, hosts });
  }
}

import { csvField, type InventoryInstance } from '../../../electron/contract';

/**
 * The export's header. Fixed English names rather than the UI's language, so a script that
 * reads the file works whatever language the person exporting uses.
 */
export const INVENTORY_CSV_COLUMNS = [
  'Name',
  'InstanceId',
  'State',
  'Type',
  'AZ/Region',
  'Private IP',
  'Public IP',
  'Profile',
  'Account',
  'VPC',
  'Default OS user',
  'Tags',
] as const;

function instanceFields(i: InventoryInstance): string[] {
  return [
    i.name,
    i.id,
    i.state,
    i.type,
    i.az || i.region,
    i.privateIp,
    i.publicIp,
    i.profile,
    i.account,
    i.vpcId,
    i.defaultUser,
    Object.entries(i.tags)
      .map(([k, v]) => `${k}=${v}`)
      .join(';'),
  ];
}

/** The instances as a CSV file: a header line, then one line per instance, CRLF line ends (RFC 4180). */
export function inventoryCsv(instances: readonly InventoryInstance[]): string {
  const lines = [INVENTORY_CSV_COLUMNS as readonly string[], ...instances.map(instanceFields)];
  return lines.map((fields) => fields.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** `keyless-inventory-2026-11-28T16-19-10.csv`: sorts by time and is a valid name on every OS. */
export function inventoryCsvFileName(at: Date): string {
  return `keyless-inventory-${at.toISOString().slice(0, 19).replace(/:/g, '-')}.csv`;
}

import { CONFIG_PREFIX_SEPARATOR as SEP, loadSharedConfigFiles } from '@smithy/shared-ini-file-loader';
import { checkAwsFiles } from './shared-files';

/**
 * The endpoint override the AWS SDKs honour for a service (the "service-specific endpoints"
 * rules): AWS_ENDPOINT_URL_<SERVICE_ID>, then AWS_ENDPOINT_URL, then the profile's `services`
 * section, then its `endpoint_url`; none when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
 * The SDK clients apply it themselves; the EICE tunnel uses it so the WebSocket goes where
 * the API calls go (a VPC endpoint, a proxy, the test simulator) with no special path.
 */
export async function endpointOverride(
  serviceId: string,
  profile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<URL | undefined> {
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '')) return undefined;
  const suffix = serviceId.split(' ').map((w) => w.toUpperCase()).join('_');
  const fromEnv = env[`AWS_ENDPOINT_URL_${suffix}`] || env.AWS_ENDPOINT_URL;
  if (fromEnv) return new URL(fromEnv);
  await checkAwsFiles();
  const { configFile } = await loadSharedConfigFiles({ ignoreCache: false });
  const section = configFile[profile ?? env.AWS_PROFILE ?? 'default'];
  if (!section) return undefined;
  if (section.services) {
    const services = configFile[`services${SEP}${section.services}`];
    const key = `${serviceId.split(' ').map((w) => w.toLowerCase()).join('_')}${SEP}endpoint_url`;
    const url = services?.[key];
    if (url) return new URL(url);
  }
  return section.endpoint_url ? new URL(section.endpoint_url) : undefined;
}

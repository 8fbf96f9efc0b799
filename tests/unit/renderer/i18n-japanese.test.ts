import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KeylessError } from '../../../electron/contract';
import { en } from '../../../electron/contract/i18n/en';
import { ja } from '../../../electron/contract/i18n/ja';
import { errorWords } from '../../../electron/contract/i18n/error-words';
import { sshConfigSkipWords } from '../../../electron/contract/i18n/skip-words';
import { describeAwsError } from '../../../electron/main/aws/errors';
import { describeKeyPushError } from '../../../electron/main/connect/key-push';
import { chooseEndpoint, chooseRoute, type InstanceFacts } from '../../../electron/main/connect/plan';
import { proposeEndpointPlacement } from '../../../electron/main/connect/endpoint-offer';
import { describeSshError } from '../../../electron/main/ssh/connection';
import { readSshConfig } from '../../../electron/main/store/ssh-config-import';

/**
 * Words that stay in Latin letters in Japanese text: product and protocol names, AWS API names and
 * keys, commands, file names (as AWS's Japanese console and docs keep them).
 */
const KEPT = new Set(
  (
    'AWS EC2 SSH Keyless IAM SSO ID URL JSON VPC MFA IP IPv4 IPv6 CLI API ARN TCP UDP HTTP HTTPS DNS OS AMI CPU SNS CSV GPU WebGL VPN FIFO PEM ' +
    'SFTP Terraform CloudTrail CloudWatch Logs Instance Connect Identity Center OpenSSH ProxyJump ProxyCommand MaxStartups Include Match ' +
    'sudo Ctrl Shift Alt Enter Esc Tab Backspace README Web English bash root sshd sshd_config Subsystem sftp internal-sftp sftp-server ' +
    'ssh-agent ssh-add ssh config credential_process source_profile Version AccessKeyId SecretAccessKey Expiration Describe OpenTunnel ' +
    'SendSSHPublicKey CreateInstanceConnectEndpoint LookupEvents cloudtrail ACCOUNT_ID NOPASSWD OK OR npm run web ms key value user host port tag ' +
    'sh sudoers ACL keyless proxy Host hosts login scp rsync git VS Code Windows'
  ).split(' '),
);

/** Latin words in `text` that are neither kept names nor code (ids, keys with : = . _ - / digits). */
function englishLeft(text: string, values: readonly string[] = []): string[] {
  let s = text;
  // Longest first: a policy's JSON holds its resource.
  for (const v of [...values].sort((a, b) => b.length - a.length)) if (v) s = s.split(v).join(' ');
  s = s.replace(/\{\w+\}/g, ' ').replace(/`[^`]*`/g, ' ');
  const tokens = s.split(/[^A-Za-z0-9_:=.\-/*?~@[\]!]+/).filter(Boolean);
  return tokens.filter((t) => /^[A-Za-z]{2,}$/.test(t) && !KEPT.has(t));
}

const detailValues = (e: KeylessError) => Object.values(e.detail ?? {}).map(String);

describe('the Japanese catalogue', () => {
  it('leaves no value in English where the English catalogue has words', () => {
    const left = Object.entries(ja).flatMap(([key, value]) => {
      const words = englishLeft(value);
      return words.length && englishLeft(en[key as keyof typeof en]).length ? [`${key}: ${words.join(' ')}`] : [];
    });
    expect(left).toEqual([]);
  });

  it("uses AWS's Japanese terms and one word per thing (ja-glossary.md)", () => {
    const banned: Array<[RegExp, string]> = [
      [/ポートフォワード/, 'ポート転送'],
      [/取り込/, 'インポート'],
      [/書き出/, 'エクスポート'],
      [/フォルダ(?!ー)/, 'フォルダー'],
      [/既定/, 'デフォルト'],
      [/鍵/, 'キー'],
      [/受信を許可|送信を許可/, 'インバウンドルール／アウトバウンドルール'],
      [/グループに入/, '関連付ける'],
      [/通常のユーザー/, 'デフォルトのユーザー名'],
      [/制限しています/, 'スロットリング'],
      [/(?<!EC2 )Instance Connect Endpoint|Instance Connect エンドポイント(?<!EC2 Instance Connect エンドポイント)/, 'EC2 Instance Connect エンドポイント'],
      [/数える|数えます|異常なもの/, 'カウント'],
      [/(?<!お)試してください/, 'もう一度お試しください'],
      [/：/, 'half-width ": "'],
      [/\.\.\./, '…'],
      [/[\u3040-\u30ff\u4e00-\u9fff] \(/, 'full-width （）'],
    ];
    const found = Object.entries(ja).flatMap(([key, value]) => banned.filter(([re]) => re.test(value)).map(([re, use]) => `${key}: ${re.source} (use ${use})`));
    expect(found).toEqual([]);
  });

  it('gives the fifteen strings of the glossary their suggested wording', () => {
    expect(ja['audit.alarms.rules']).toBe('カウント対象');
    expect(ja['editor.maxTunnel']).toBe('トンネルの最大継続時間（秒）');
    expect(ja['prompt.hostKey.title']).toBe('未登録のホストキー');
    expect(ja['audit.alarm.title']).toBe('このイベントは下のアラームのカウント対象です');
    expect(ja['error.AwsThrottled']).toContain('スロットリング');
    expect(ja['endpoint.reminder']).toContain('インバウンドルール');
    expect(ja['endpoint.reason.instanceGroup']).toContain('関連付けられている');
    expect(ja['error.PushedKeyRefused']).toContain('デフォルトのユーザー名は {suggestedUser}');
    expect(ja['hosts.emptyImport']).toMatch(/^~\/\.ssh\/config にあるホストはインポートできます。/);
    expect(ja['smart.queryHelp']).toContain('OR 条件');
  });
});

describe('failures from main read wholly in Japanese (codes and parameters, no English message)', () => {
  const vpcInstance: InstanceFacts = { instanceId: 'i-0123456789abcdef0', state: 'running', vpcId: 'vpc-1', subnetId: 'subnet-1', privateIpAddress: '10.0.0.5' };
  const failures: Array<[string, () => unknown]> = [
    ['IAM denial', () => describeAwsError({ name: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation. User: arn:aws:iam::1:user/x is not authorized' }, { action: 'ec2:DescribeInstances', region: 'eu-west-1', profile: 'dev' })],
    ['key push denial', () => describeKeyPushError({ name: 'AccessDeniedException', message: 'User: arn:aws:iam::1:user/x is not authorized to perform: ec2-instance-connect:SendSSHPublicKey' }, { profile: 'dev', region: 'eu-west-1', instanceId: 'i-0123456789abcdef0', osUser: 'ec2-user' })],
    ['AWS unreachable', () => describeAwsError({ name: 'TimeoutError', message: 'connect ETIMEDOUT 1.2.3.4:443' }, { action: 'ec2:DescribeInstances', region: 'eu-west-1', profile: 'dev' })],
    ['network reset', () => describeSshError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), { host: 'db.example', port: 22, user: 'me' })],
    ['ssh failure', () => describeSshError(new Error('Unsupported key format'), { host: 'db.example', port: 22, user: 'me' })],
    ['no endpoint ready', () => chooseEndpoint(vpcInstance, [])],
    ['pinned endpoint missing', () => chooseEndpoint(vpcInstance, [], 'eice-0123')],
    ['pinned endpoint not ready', () => chooseEndpoint(vpcInstance, [{ endpointId: 'eice-0123', state: 'create-in-progress', vpcId: 'vpc-1', dnsName: 'x' }], 'eice-0123')],
    ['endpoint in another VPC', () => chooseEndpoint(vpcInstance, [{ endpointId: 'eice-0123', state: 'create-complete', vpcId: 'vpc-2', dnsName: 'x' }], 'eice-0123')],
    ['no private address', () => chooseRoute('eice', { instanceId: 'i-0123456789abcdef0', state: 'running' })],
    ['not in a VPC', () => proposeEndpointPlacement({ instanceId: 'i-0123456789abcdef0' }, undefined)],
  ];

  for (const [name, make] of failures) {
    it(name, () => {
      let err: unknown;
      try {
        err = make();
      } catch (e) {
        err = e;
      }
      const e = err as KeylessError;
      expect(e.code, name).toBeTruthy();
      const words = errorWords(ja, { code: e.code, message: e.message, retryable: e.retryable, detail: e.detail });
      expect(words).not.toContain(e.message);
      expect(words).not.toMatch(/\{\w+\}/);
      expect(englishLeft(words, detailValues(e)), words).toEqual([]);
      // The English words say the same, from the same parameters.
      expect(errorWords(en, e)).not.toMatch(/\{\w+\}/);
    });
  }

  const home = mkdtempSync(join(tmpdir(), 'keyless-ja-skip-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('ssh-config skip reasons', async () => {
    mkdirSync(join(home, '.ssh'));
    mkdirSync(join(home, '.ssh', 'conf.d'));
    const file = join(home, '.ssh', 'config');
    writeFileSync(file, 'Include missing-file\nInclude conf.d\nHost *.prod\n  User ops\nMatch host x\n  User y\nHost bad\n  Port 99999\n');
    const { report } = await readSshConfig(file, { home, localUser: 'me' });
    expect(report.skipped.map((s) => s.reason).sort()).toEqual(['includeMissing', 'includeRefused', 'invalidValue', 'matchBlock', 'wildcard']);
    for (const s of report.skipped) {
      const words = sshConfigSkipWords(ja, s);
      expect(words).not.toMatch(/\{\w+\}/);
      expect(englishLeft(words, Object.values(s.detail ?? {}).map(String)), words).toEqual([]);
      expect(sshConfigSkipWords(en, s)).not.toBe(words);
    }
  });
});

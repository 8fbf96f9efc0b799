import { sshdMissing, startSshd as startFixture, type SshdFixture } from '../../integration/support/sshd';

export { sshdMissing };

/** The integration tests' real sshd, with the client key under the name the browser tests type into the editor. */
export type TestSshd = SshdFixture & { readonly clientKey: string };

export async function startSshd(): Promise<TestSshd> {
  const fixture = await startFixture();
  return Object.defineProperty(fixture, 'clientKey', { value: fixture.keyPath, enumerable: true }) as TestSshd;
}

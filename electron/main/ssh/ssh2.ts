/**
 * ssh2, loaded at its first use (a connection, a key file read, the bridge's agent) and not at
 * start, the way the AWS SDK is (aws/sdk.ts): it and what it requires (its Poly1305 WebAssembly
 * with a 16 MB heap, asn1, bcrypt-pbkdf, tweetnacl) cost about 5 MB of RSS and 16 MB of external
 * memory that an app at rest with no connection should not hold. Modules import its types with
 * `import type` (free) and its values through this; `import()` keeps the module once loaded.
 * ssh2 is CommonJS: its classes come off the default export under Node's ESM loader.
 */
export const loadSsh2 = () => import('ssh2').then((m) => m.default);

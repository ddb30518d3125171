import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Pkcs11Types from 'pkcs11js';

/**
 * Keys kept in a PKCS#11 token (an HSM, or SoftHSM2 in tests), through `pkcs11js`: generated in
 * the token as token objects that are private, sensitive and not extractable, and used only by
 * asking the token to sign. Nothing of the private key ever reaches this process; the key store
 * keeps the key's CKA_ID beside its public metadata.
 *
 * DNSSEC algorithms: 8 and 10 (RSA PKCS#1 v1.5 with SHA-256/512, hashed by the token), 13 and 14
 * (ECDSA P-256/P-384: hashed here, CKM_ECDSA in the token, which returns r‖s as RFC 6605 wants),
 * 15 (Ed25519, CKM_EDDSA, where the token has it).
 */

/** Where a zone's keys are: `keyStorage: { pkcs11: { module, token, pinFile } }`. */
export interface Pkcs11Config {
  /** The PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly module: string;
  /** The token label. */
  readonly token: string;
  /** A file holding the user PIN (0600); the PIN is read at start, never logged. */
  readonly pinFile: string;
}

/** A private key that only its token can use. */
export interface TokenPrivateKey {
  readonly kind: 'pkcs11';
  /** CKA_ID, hex. */
  readonly id: string;
  readonly token: string;
  sign(data: Uint8Array): Uint8Array;
}

export class Pkcs11Error extends Error {
  override readonly name = 'Pkcs11Error';
}

const requireCjs = createRequire(import.meta.url);
let binding: typeof Pkcs11Types | undefined;
/** Loaded on first use: a server without HSM zones never needs the native module. */
function pkcs11(): typeof Pkcs11Types {
  binding ??= requireCjs('pkcs11js') as typeof Pkcs11Types;
  return binding;
}

/** DER OIDs of the curves (CKA_EC_PARAMS). */
const EC_PARAMS: Record<number, { params: Buffer; hash: string; size: number }> = {
  13: { params: Buffer.from('06082a8648ce3d030107', 'hex'), hash: 'sha256', size: 32 },
  14: { params: Buffer.from('06052b81040022', 'hex'), hash: 'sha384', size: 48 },
};
/** PKCS#11 3.0 mechanisms pkcs11js does not name. */
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
/** Ed25519 as a printable curve name (PKCS#11 3.0 §2.3.10), as SoftHSM2 takes it. */
const ED25519_PARAMS = Buffer.from('130c656477617264733235353139', 'hex');

/** The DER OCTET STRING around an EC point, as CKA_EC_POINT holds it. */
function unwrapOctetString(der: Buffer): Buffer {
  if (der[0] !== 0x04) return der;
  let p = 1;
  let length = der[p++]!;
  if (length & 0x80) {
    const n = length & 0x7f;
    length = 0;
    for (let i = 0; i < n; i++) length = (length << 8) | der[p++]!;
  }
  return der.subarray(p, p + length);
}

/** One module loaded and initialized once per process; several tokens may share it. */
const modules = new Map<string, Pkcs11Types.PKCS11>();

function moduleFor(path: string): Pkcs11Types.PKCS11 {
  let m = modules.get(path);
  if (!m) {
    const lib = pkcs11();
    m = new lib.PKCS11();
    try {
      m.load(path);
      m.C_Initialize();
    } catch (error) {
      throw new Pkcs11Error(`PKCS#11 module ${path}: ${(error as Error).message}`);
    }
    modules.set(path, m);
  }
  return m;
}

/** An open, logged-in session on one token. */
export class Pkcs11Token {
  private constructor(
    private readonly mod: Pkcs11Types.PKCS11,
    private readonly session: Pkcs11Types.Handle,
    readonly config: Pkcs11Config,
  ) {}

  static open(config: Pkcs11Config): Pkcs11Token {
    const lib = pkcs11();
    const mod = moduleFor(config.module);
    const slot = mod.C_GetSlotList(true).find((s) => mod.C_GetTokenInfo(s).label.trim() === config.token);
    if (slot === undefined) throw new Pkcs11Error(`PKCS#11 module ${config.module} has no token labelled "${config.token}"`);
    let pin: string;
    try {
      pin = readFileSync(config.pinFile, 'utf8').trim();
    } catch (error) {
      throw new Pkcs11Error(`PIN file ${config.pinFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const session = mod.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
    try {
      mod.C_Login(session, lib.CKU_USER, pin);
    } catch (error) {
      if (!/CKR_USER_ALREADY_LOGGED_IN/.test((error as Error).message)) {
        mod.C_CloseSession(session);
        throw new Pkcs11Error(`token "${config.token}": login failed (${(error as Error).message.split(':')[0]})`);
      }
    }
    return new Pkcs11Token(mod, session, config);
  }

  /**
   * A new key pair in the token for DNSSEC `algorithm`: the private half a private, sensitive,
   * non-extractable token object that can only sign. Returns it and the DNSKEY public key field.
   */
  generate(algorithm: number, bits: number, label: string): { privateKey: TokenPrivateKey; publicKeyField: Uint8Array } {
    const lib = pkcs11();
    const id = randomBytes(16);
    const common = [
      { type: lib.CKA_TOKEN, value: true },
      { type: lib.CKA_ID, value: id },
      { type: lib.CKA_LABEL, value: label },
    ];
    const privateTemplate = [...common, { type: lib.CKA_PRIVATE, value: true }, { type: lib.CKA_SENSITIVE, value: true }, { type: lib.CKA_EXTRACTABLE, value: false }, { type: lib.CKA_SIGN, value: true }];
    let publicKeyField: Uint8Array;
    if (algorithm === 8 || algorithm === 10) {
      const pair = this.mod.C_GenerateKeyPair(this.session, { mechanism: lib.CKM_RSA_PKCS_KEY_PAIR_GEN }, [...common, { type: lib.CKA_VERIFY, value: true }, { type: lib.CKA_MODULUS_BITS, value: bits }, { type: lib.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }], privateTemplate);
      const [modulus, exponent] = this.mod.C_GetAttributeValue(this.session, pair.publicKey, [{ type: lib.CKA_MODULUS }, { type: lib.CKA_PUBLIC_EXPONENT }]).map((a) => a.value as Buffer);
      // RFC 3110 §2: exponent length (one octet when < 256), exponent, modulus.
      publicKeyField = Buffer.concat([Buffer.from([exponent!.length]), exponent!, modulus!]);
    } else if (EC_PARAMS[algorithm] || algorithm === 15) {
      const ed = algorithm === 15;
      const mechanism = ed ? CKM_EC_EDWARDS_KEY_PAIR_GEN : lib.CKM_EC_KEY_PAIR_GEN;
      const pair = this.mod.C_GenerateKeyPair(this.session, { mechanism }, [...common, { type: lib.CKA_VERIFY, value: true }, { type: lib.CKA_EC_PARAMS, value: ed ? ED25519_PARAMS : EC_PARAMS[algorithm]!.params }], privateTemplate);
      const point = unwrapOctetString(this.mod.C_GetAttributeValue(this.session, pair.publicKey, [{ type: lib.CKA_EC_POINT }])[0]!.value as Buffer);
      // RFC 6605 §4: X‖Y without the 0x04 prefix; RFC 8080: the 32 octets of the Ed25519 key.
      publicKeyField = ed ? point : point.subarray(1);
    } else throw new Pkcs11Error(`algorithm ${algorithm} keys cannot be kept in a PKCS#11 token here (8, 10, 13, 14, 15 can)`);
    return { privateKey: this.handle(algorithm, id.toString('hex')), publicKeyField: new Uint8Array(publicKeyField) };
  }

  /** The private key with CKA_ID `id`, for signing; Pkcs11Error when the token has none. */
  key(algorithm: number, id: string): TokenPrivateKey {
    this.find(id);
    return this.handle(algorithm, id);
  }

  /** The attributes that say a key cannot leave the token (CKA_SENSITIVE true, CKA_EXTRACTABLE false). */
  protection(id: string): { sensitive: boolean; extractable: boolean } {
    const lib = pkcs11();
    const [sensitive, extractable] = this.mod.C_GetAttributeValue(this.session, this.find(id), [{ type: lib.CKA_SENSITIVE }, { type: lib.CKA_EXTRACTABLE }]).map((a) => (a.value as Buffer)[0] === 1);
    return { sensitive: sensitive!, extractable: extractable! };
  }

  /** Destroys every object (private and public key) with CKA_ID `id`; returns how many there were. */
  destroy(id: string): number {
    const lib = pkcs11();
    this.mod.C_FindObjectsInit(this.session, [{ type: lib.CKA_ID, value: Buffer.from(id, 'hex') }]);
    const found = this.mod.C_FindObjects(this.session, 16);
    this.mod.C_FindObjectsFinal(this.session);
    for (const object of found) this.mod.C_DestroyObject(this.session, object);
    return found.length;
  }

  /** Runs `use` on this token's logged-in session: the cluster's key-encryption key in the token (src/cluster/token-key-encryption-key.ts). */
  withSession<T>(use: (mod: Pkcs11Types.PKCS11, session: Pkcs11Types.Handle) => T): T {
    return use(this.mod, this.session);
  }

  private find(id: string): Pkcs11Types.Handle {
    const lib = pkcs11();
    this.mod.C_FindObjectsInit(this.session, [{ type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY }, { type: lib.CKA_ID, value: Buffer.from(id, 'hex') }]);
    const found = this.mod.C_FindObjects(this.session, 2);
    this.mod.C_FindObjectsFinal(this.session);
    if (found.length !== 1) throw new Pkcs11Error(`token "${this.config.token}" has ${found.length === 0 ? 'no' : 'more than one'} private key with CKA_ID ${id}`);
    return found[0]!;
  }

  private handle(algorithm: number, id: string): TokenPrivateKey {
    const lib = pkcs11();
    let object: Pkcs11Types.Handle | undefined;
    const ec = EC_PARAMS[algorithm];
    const mechanism = algorithm === 8 ? lib.CKM_SHA256_RSA_PKCS : algorithm === 10 ? lib.CKM_SHA512_RSA_PKCS : algorithm === 15 ? CKM_EDDSA : lib.CKM_ECDSA;
    const size = algorithm === 8 || algorithm === 10 ? 512 : 132;
    return {
      kind: 'pkcs11',
      id,
      token: this.config.token,
      sign: (data) => {
        object ??= this.find(id);
        const input = ec ? createHash(ec.hash).update(data).digest() : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        this.mod.C_SignInit(this.session, { mechanism }, object);
        return new Uint8Array(this.mod.C_Sign(this.session, input, Buffer.alloc(size)));
      },
    };
  }
}

/** Tokens opened once per module and label. */
const tokens = new Map<string, Pkcs11Token>();

export function openToken(config: Pkcs11Config): Pkcs11Token {
  const key = `${config.module}\u0000${config.token}\u0000${config.pinFile}`;
  let t = tokens.get(key);
  if (!t) {
    t = Pkcs11Token.open(config);
    tokens.set(key, t);
  }
  return t;
}

import { CryptoError } from './crypto-error.js';

/**
 * RFC 4034 Appendix B key tag of a DNSKEY RDATA (flags, protocol, algorithm, public key).
 *
 * @throws CryptoError `malformed-dnskey` when the RDATA is too short to be a DNSKEY
 */
export function keyTag(dnskeyRdata: Uint8Array): number {
  const length = dnskeyRdata.length;
  if (length < 4) throw new CryptoError('malformed-dnskey', `DNSKEY RDATA of ${length} octets is too short`);
  if (dnskeyRdata[3] === 1) {
    // RFC 4034 B.1: for RSA/MD5 the tag is the modulus' 3rd- and 2nd-to-last octets (as
    // BIND, ldns and the RFC's errata compute it), and the modulus ends the RDATA.
    if (length < 4 + 3) throw new CryptoError('malformed-dnskey', 'RSA/MD5 key too short for a key tag');
    return (dnskeyRdata[length - 3]! << 8) | dnskeyRdata[length - 2]!;
  }
  let sum = 0;
  for (let i = 0; i < length; i++) sum += i & 1 ? dnskeyRdata[i]! : dnskeyRdata[i]! << 8;
  sum += (sum >>> 16) & 0xffff;
  return sum & 0xffff;
}

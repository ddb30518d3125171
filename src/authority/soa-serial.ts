import type { ResourceRecord } from '../wire/message.js';
import { decodeRdata, encodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';

/**
 * SOA serial numbers in RFC 1982 serial arithmetic (SERIAL_BITS = 32): `a` is greater than
 * `b` when it is ahead by less than half the number space. Equal and "undefined" (exactly half
 * apart) are not greater.
 */
export function serialGreater(a: number, b: number): boolean {
  const d = ((a >>> 0) - (b >>> 0) + 2 ** 32) % 2 ** 32;
  return d !== 0 && d < 2 ** 31;
}

/** The next serial (RFC 1982 §3.1: add 1 modulo 2^32), skipping 0 as BIND does (0 means "unset" to some tools). */
export function nextSerial(serial: number): number {
  const next = ((serial >>> 0) + 1) % 2 ** 32;
  return next === 0 ? 1 : next;
}

export function soaSerial(soa: ResourceRecord): number {
  return decodeRdata(RRType.SOA, soa.rdata)['serial'] as number;
}

/** The SOA record with another serial, everything else as it was. */
export function withSerial(soa: ResourceRecord, serial: number): ResourceRecord {
  const fields = decodeRdata(RRType.SOA, soa.rdata);
  return { ...soa, rdata: encodeRdata(RRType.SOA, { ...fields, serial: serial >>> 0 }) };
}

/**
 * node:crypto hands back Buffers; the public API promises plain Uint8Arrays so equality
 * checks and structured clones behave the same whoever produced the bytes. A view, no copy.
 */
export function plainBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A Buffer over the same memory, for node:crypto calls that want one. No copy. */
export function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

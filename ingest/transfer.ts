/**
 * A view that owns its whole ArrayBuffer, so it can be transferred to another thread instead of copied.
 * Small Buffers share Node's allocation pool (transferring that would detach other Buffers): those, and
 * any other view into a larger buffer, are copied once.
 */
export function transferable(bytes: Uint8Array): Uint8Array {
  const owns = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  return owns ? bytes : new Uint8Array(bytes);
}

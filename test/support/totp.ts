import { createHmac } from 'node:crypto';

/**
 * A test-side RFC 6238 implementation (HMAC-SHA-1, 6 digits, 30 s), written apart from the app's
 * so that the two check each other. Pass the app's clock: `totp(secret, t.clock.nowMs())`.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32ToBytes(text: string): Buffer {
  let bits = '';
  for (const char of text.replace(/=+$/, '')) {
    const value = ALPHABET.indexOf(char.toUpperCase());
    if (value < 0) throw new Error(`not base32: ${char}`);
    bits += value.toString(2).padStart(5, '0');
  }
  const bytes = bits.match(/.{8}/g) ?? [];
  return Buffer.from(bytes.map((byte) => parseInt(byte, 2)));
}

export const totpStepAt = (ms: number) => Math.floor(ms / 30_000);

/** The code of time step `step` (RFC 4226 dynamic truncation). */
export function totpForStep(secretBase32: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeUInt32BE(Math.floor(step / 2 ** 32), 0);
  counter.writeUInt32BE(step % 2 ** 32, 4);
  const mac = createHmac('sha1', base32ToBytes(secretBase32)).update(counter).digest();
  const offset = mac[19] & 0xf;
  const value = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return (value % 1_000_000).toString().padStart(6, '0');
}

/** The code at `ms` (the app's clock), or `stepOffset` steps away from it. */
export function totp(secretBase32: string, ms: number, stepOffset = 0): string {
  return totpForStep(secretBase32, totpStepAt(ms) + stepOffset);
}

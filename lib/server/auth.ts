import { timingSafeEqual } from 'node:crypto';

/** With API keys configured, a request must carry `Authorization: Bearer <one of them>`. */
export function isAuthorised(authorization: string | undefined, keys: readonly string[]): boolean {
  if (keys.length === 0) return true;
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1].trim());
  let ok = false;
  // Compare against every key so the time taken does not reveal which key prefix matched.
  for (const key of keys) {
    const expected = Buffer.from(key);
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

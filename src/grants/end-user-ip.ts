import { isIP } from 'node:net';
import type { Client } from '../clients/client.entity';
import { InvalidRequest } from '../oauth/errors';

/** The header in which a trusted backend forwards its end user's address (SPEC §3.3). */
export const END_USER_IP_HEADER = 'Gatehouse-End-User-IP';

/**
 * The end user's address a confidential client registered with `trust_end_user_ip_header` forwards
 * in Gatehouse-End-User-IP: one IPv4 or IPv6 address, anything else (a list, a name, brackets,
 * a port) is `invalid_request`. For every other client the header means nothing and is not read,
 * so it can neither move their failed logins to another counter nor reach the audit log.
 */
export function forwardedEndUserIp(headers: Record<string, string | string[] | undefined>, client: Client): string | undefined {
  if (client.isPublic || !client.trustEndUserIpHeader) return undefined;
  const raw = headers[END_USER_IP_HEADER.toLowerCase()];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw.join(', ') : raw.trim();
  if (Array.isArray(raw) || value.length > 64 || isIP(value) === 0) {
    throw new InvalidRequest(`${END_USER_IP_HEADER} must be one IPv4 or IPv6 address`);
  }
  return value;
}

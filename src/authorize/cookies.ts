import type { FastifyRequest } from 'fastify';

/** The value of the first cookie named `name` in the request, or null. */
export function readCookie(req: FastifyRequest, name: string): string | null {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * A cookie of the hosted pages: HttpOnly, SameSite=Lax, Path=/, and under an https issuer Secure with
 * the `__Host-` prefix (which binds it to this host and path, so no sibling domain can set it).
 */
export class PageCookie {
  readonly name: string;
  private readonly secure: boolean;

  constructor(issuer: string, baseName: string) {
    this.secure = issuer.startsWith('https:');
    this.name = this.secure ? `__Host-${baseName}` : baseName;
  }

  read(req: FastifyRequest): string | null {
    return readCookie(req, this.name);
  }

  /** A session cookie (no Max-Age): it ends with the browser session, like Keycloak's. */
  set(value: string): string {
    return `${this.name}=${value}; Path=/; HttpOnly; SameSite=Lax${this.secure ? '; Secure' : ''}`;
  }

  clear(): string {
    return `${this.name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${this.secure ? '; Secure' : ''}`;
  }
}

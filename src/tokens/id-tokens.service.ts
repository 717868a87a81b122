import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { KeysService, type SigningAlg } from '../keys/keys.service';

/** What an id_token needs to know of its client. */
export interface IdTokenClient {
  clientId: string;
  idTokenTtl: number;
  idTokenSignedResponseAlg: string;
}

export interface IdTokenInput {
  client: IdTokenClient;
  userId: string;
  authTime: Date;
  amr: string[];
  sid: string;
  accessToken: string;
  nonce?: string | null;
  /** The user's claims for the granted scope, already filtered (no null or empty values). */
  claims: Record<string, unknown>;
}

/** OIDC id_tokens; they are not stored. */
@Injectable()
export class IdTokensService {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly keys: KeysService,
  ) {}

  /** An OIDC id_token (Core §2) signed with the client's id_token_signed_response_alg. */
  issue(input: IdTokenInput): Promise<string> {
    const { client } = input;
    const now = this.clock.nowSeconds();
    const alg = client.idTokenSignedResponseAlg as SigningAlg;
    return this.keys.sign(
      {
        ...input.claims,
        iss: this.config.issuer,
        sub: input.userId,
        aud: client.clientId,
        exp: now + client.idTokenTtl,
        iat: now,
        auth_time: Math.floor(input.authTime.getTime() / 1000),
        ...(input.nonce ? { nonce: input.nonce } : {}),
        at_hash: atHash(input.accessToken, alg),
        sid: input.sid,
        amr: input.amr,
      },
      { alg },
    );
  }
}

/** OIDC Core §3.1.3.6: left half of the access token's hash, with the hash of the id_token's alg. */
export function atHash(accessToken: string, alg: SigningAlg): string {
  // Ed25519 signs with SHA-512, so its at_hash uses SHA-512 too (OIDC Core errata).
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

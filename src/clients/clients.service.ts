import { randomUUID } from 'node:crypto';
import { ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { AdminClients } from '../admin/admin-clients';
import { validationFailed, type FieldErrors } from '../admin/validation';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { digestsEqual, randomToken, secretDigest } from '../common/crypto';
import { nonPublicHost } from '../common/ip-addresses';
import { AppConfig } from '../config/app-config';
import { isUniqueViolation } from '../database/errors';
import { TtlCache } from '../common/ttl-cache';
import { retryOnConflict } from '../database/retry';
import { ADMIN_SCOPE, formatScope, parseScope, STANDARD_SCOPES } from '../oauth/scopes';
import { TokenFamiliesService } from '../sessions/token-families.service';
import { AccessTokensService } from '../tokens/access-tokens.service';
import { AuthorizationCodesService } from '../tokens/authorization-codes.service';
import { parseDistinguishedName } from './distinguished-name';
import { Client } from './client.entity';
import { ClientSecretSealer } from './client-secret-sealer';
import { CreateClientDto, UpdateClientDto } from './dto/client.dto';

export const DEFAULT_CLIENT_SCOPE = formatScope(STANDARD_SCOPES);
export const DEFAULT_DEFAULT_SCOPE = 'openid profile';
const BOOTSTRAP_ADMIN_CLIENT_ID = 'gatehouse-admin';

function noSecretMessage(client: Client): string {
  return client.isPublic
    ? 'a public client (token_endpoint_auth_method none) has no secret'
    : `a client using ${client.tokenEndpointAuthMethod} has no secret`;
}

/** A client that may obtain the admin scope: client_credentials with "admin" among its scopes. */
const isAdminClient = (client: Pick<Client, 'grantTypes' | 'scope'>) =>
  client.grantTypes.includes('client_credentials') && parseScope(client.scope).includes(ADMIN_SCOPE);

/** Comparing against this when the client does not exist keeps unknown-client timing equal to wrong-secret. */
const DUMMY_DIGEST = 'f'.repeat(64);

interface OriginSet {
  origins: ReadonlySet<string>;
  loadedAtMs: number;
  /** The `originsGeneration` the load started in: a client changed since then makes it stale. */
  generation: number;
}

@Injectable()
export class ClientsService implements AdminClients {
  private readonly logger = new Logger(ClientsService.name);
  private originSet?: OriginSet;
  private originSetLoading?: { generation: number; promise: Promise<ReadonlySet<string>> };
  private originsGeneration = 0;
  /**
   * Clients as the token path reads them: for CACHE_TTL_SECONDS at most, forgotten at once when
   * changed through this instance (a disabled client or a rotated secret is refused by every
   * instance within CACHE_TTL_SECONDS). The admin API reads the row itself (`get`).
   */
  private readonly cache: TtlCache<string, Client>;

  constructor(
    @InjectRepository(Client) private readonly repo: Repository<Client>,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly families: TokenFamiliesService,
    private readonly accessTokens: AccessTokensService,
    private readonly codes: AuthorizationCodesService,
    private readonly sealer: ClientSecretSealer,
  ) {
    this.cache = new TtlCache(config.cacheTtlSeconds * 1000, () => clock.nowMs());
  }

  private get originsTtlMs(): number {
    return this.config.cacheTtlSeconds * 1000;
  }

  /**
   * Exact match only. MySQL compares VARCHARs with trailing spaces ignored (PAD SPACE), so the row
   * found is checked again here: "admin " must not find "admin" on one store and nothing on the other.
   */
  findById(clientId: string): Promise<Client | null> {
    if (clientId.length === 0 || clientId.length > 128) return Promise.resolve(null);
    return this.cache.get(clientId, () => this.read(clientId));
  }

  /** The row itself, not the cached copy: for the admin API, which changes what it reads. */
  private async read(clientId: string): Promise<Client | null> {
    if (clientId.length === 0 || clientId.length > 128) return null;
    const client = await this.repo.findOne({ where: { clientId } });
    return client?.clientId === clientId ? client : null;
  }

  /** The admin API's check of the client of an admin token (see AdminGuard). */
  async isAdminClient(clientId: string, tokenIssuedAt: number): Promise<boolean> {
    const client = await this.findById(clientId);
    return !!client && !client.disabled && client.allowedScopes().has(ADMIN_SCOPE) && !client.predates(tokenIssuedAt);
  }

  /** Constant-time check of a presented secret; false for a missing client or a public one. */
  verifySecret(client: Client | null, secret: string): boolean {
    const presented = secretDigest(secret, this.config.keyEncryptionSecret);
    const stored = client?.secretDigest ?? DUMMY_DIGEST;
    return digestsEqual(presented, stored) && !!client?.secretDigest;
  }

  /**
   * Every origin an enabled client registered (its redirect URIs' and its allowed_cors_origins), for
   * CORS preflights (SPEC §4), which name no client. Read from the database at most once per
   * CACHE_TTL_SECONDS however many preflights arrive (concurrent callers share one read),
   * and again at once after a client was changed through this instance.
   */
  async registeredOrigins(): Promise<ReadonlySet<string>> {
    const now = this.clock.nowMs();
    const cached = this.originSet;
    if (cached && cached.generation === this.originsGeneration && now >= cached.loadedAtMs && now - cached.loadedAtMs < this.originsTtlMs) {
      return cached.origins;
    }
    if (this.originSetLoading?.generation !== this.originsGeneration) {
      const generation = this.originsGeneration;
      const promise = this.loadRegisteredOrigins(generation).finally(() => {
        if (this.originSetLoading?.promise === promise) this.originSetLoading = undefined;
      });
      this.originSetLoading = { generation, promise };
    }
    return this.originSetLoading!.promise;
  }

  private async loadRegisteredOrigins(generation: number): Promise<ReadonlySet<string>> {
    const loadedAtMs = this.clock.nowMs();
    const clients = await this.repo.find({ select: { clientId: true, redirectUris: true, allowedCorsOrigins: true }, where: { disabled: false } });
    const origins = new Set(clients.flatMap((client) => [...client.corsOrigins()]));
    if (generation === this.originsGeneration) this.originSet = { origins, loadedAtMs, generation };
    return origins;
  }

  /** A client was created, changed or deleted through this instance: it and its origins count (or stop counting) at once. */
  private clientsChanged(clientId: string): void {
    this.cache.invalidate(clientId);
    this.originsGeneration++;
    this.originSet = undefined;
  }

  list(): Promise<Client[]> {
    return this.repo.find({ order: { createdAt: 'ASC', clientId: 'ASC' } });
  }

  async get(clientId: string): Promise<Client> {
    const client = await this.read(clientId);
    if (!client) throw new NotFoundException(`Client "${clientId}" not found`);
    return client;
  }

  async create(dto: CreateClientDto, actor?: string): Promise<{ client: Client; secret?: string }> {
    const now = this.clock.now();
    const method = dto.token_endpoint_auth_method ?? 'client_secret_basic';
    const client = this.repo.create({
      clientId: dto.client_id ?? randomUUID(),
      tokenEndpointAuthMethod: method,
      grantTypes: dto.grant_types ?? ['authorization_code'],
      redirectUris: dto.redirect_uris ?? [],
      scope: dto.scope ?? DEFAULT_CLIENT_SCOPE,
      defaultScope: '',
      requirePkce: false,
      requireMfa: false,
      trustEndUserIpHeader: false,
      allowPkcePlain: false,
      accessTokenFormat: 'jwt',
      accessTokenTtl: 3600,
      idTokenTtl: 3600,
      refreshTokenTtl: 30 * 24 * 3600,
      maxExchangePeriodHours: 4320,
      refreshTokenWithoutOfflineAccess: false,
      backchannelLogoutSessionRequired: false,
      logoutRevokesRefreshTokens: true,
      idTokenSignedResponseAlg: 'RS256',
      disabled: false,
      createdAt: now,
      updatedAt: now,
    });
    this.apply(client, dto);
    if (dto.default_scope === undefined) {
      const allowed = client.allowedScopes();
      client.defaultScope = formatScope(parseScope(DEFAULT_DEFAULT_SCOPE).filter((s) => allowed.has(s)));
    }
    const errors = { ...this.check(client), ...(await this.checkHosts(dto)) };
    if (!client.usesSecret && dto.client_secret) errors.client_secret = [noSecretMessage(client)];
    if (Object.keys(errors).length) throw validationFailed(errors);

    const secret = client.usesSecret ? (dto.client_secret ?? randomToken()) : undefined;
    await this.storeSecret(client, secret);
    try {
      await this.repo.insert(client);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException(`Client "${client.clientId}" already exists`);
      throw error;
    }
    this.clientsChanged(client.clientId);
    await this.audit.record({ type: 'admin.client.created', clientId: client.clientId, details: { by: actor } });
    return { client, secret };
  }

  async update(clientId: string, dto: UpdateClientDto, actor?: string): Promise<{ client: Client; secret?: string }> {
    const client = await this.get(clientId);
    this.apply(client, dto);
    const errors = { ...this.check(client), ...(await this.checkHosts(dto)) };
    if (Object.keys(errors).length) throw validationFailed(errors);
    // A client that starts using a secret gets one, shown once, as on create. So does one switching
    // to client_secret_jwt: only its digest was kept, and the assertions need the secret itself.
    let secret: string | undefined;
    if (!client.usesSecret) await this.storeSecret(client, undefined);
    else if (!client.secretDigest || (client.tokenEndpointAuthMethod === 'client_secret_jwt' && !client.secretEncrypted)) {
      secret = randomToken();
      await this.storeSecret(client, secret);
    } else if (client.tokenEndpointAuthMethod !== 'client_secret_jwt') {
      client.secretEncrypted = null;
    }
    client.updatedAt = this.clock.now();
    // save() is a transaction: on a multi-primary cluster it can lose to a write on another node.
    await retryOnConflict(() => this.repo.save(client));
    this.clientsChanged(clientId);
    await this.audit.record({ type: 'admin.client.updated', clientId, details: { by: actor, fields: Object.keys(dto) } });
    return { client, secret };
  }

  async remove(clientId: string, actor?: string): Promise<void> {
    const client = await this.get(clientId);
    const result = await this.repo.delete({ clientId: client.clientId });
    if (!result.affected) throw new NotFoundException(`Client "${clientId}" not found`);
    this.clientsChanged(client.clientId);
    // Its sessions, tokens and codes go with it: a client registered later under this client_id inherits none of them.
    const families = await this.families.endForClient(client.clientId, 'client_deleted');
    const accessTokens = await this.accessTokens.revokeForClient(client.clientId);
    const codes = await this.codes.discardForClient(client.clientId);
    await this.audit.record({
      type: 'admin.client.deleted',
      clientId,
      details: { by: actor, ended_sessions: families, revoked_access_tokens: accessTokens, discarded_codes: codes },
    });
  }

  async rotateSecret(clientId: string, actor?: string): Promise<string> {
    const client = await this.get(clientId);
    if (client.isPublic) throw validationFailed({ token_endpoint_auth_method: ['a public client has no secret to rotate'] });
    if (!client.usesSecret) throw validationFailed({ token_endpoint_auth_method: [`a client using ${client.tokenEndpointAuthMethod} has no secret to rotate`] });
    const secret = randomToken();
    await this.storeSecret(client, secret);
    await this.repo.update({ clientId }, { secretDigest: client.secretDigest, secretEncrypted: client.secretEncrypted, updatedAt: this.clock.now() });
    this.clientsChanged(clientId);
    await this.audit.record({ type: 'admin.client.secret_rotated', clientId, details: { by: actor } });
    return secret;
  }

  /**
   * On first start, when no client may obtain the admin scope, creates the bootstrap admin client
   * from BOOTSTRAP_ADMIN_CLIENT_ID / _SECRET, or with a generated secret. A generated secret is
   * returned, never logged: the caller shows it once, on stderr, at the end of start-up.
   */
  async ensureBootstrapAdmin(): Promise<{ clientId: string; secret: string } | undefined> {
    if (await this.hasEnabledAdminClient()) return undefined;
    const clientId = this.config.bootstrapAdminClientId ?? BOOTSTRAP_ADMIN_CLIENT_ID;
    const generated = !this.config.bootstrapAdminClientSecret;
    let secret: string | undefined;
    try {
      ({ secret } = await this.create(this.bootstrapAdminDto(clientId, this.config.bootstrapAdminClientSecret)));
    } catch (error) {
      if (!(error instanceof ConflictException)) throw error;
      // Either another instance created it at the same moment, or a client that is not (or no
      // longer) an enabled admin client holds the id: existing clients are never changed here.
      if (!(await this.hasEnabledAdminClient())) {
        this.logger.error(
          `No enabled admin client exists, and the bootstrap client_id "${clientId}" is taken by another client: ` +
            'start once with another BOOTSTRAP_ADMIN_CLIENT_ID, or run `npm run admin -- reset-admin-secret --client-id <new id>`, to create a new admin client',
        );
      }
      return undefined;
    }
    this.logger.log(`Created the bootstrap admin client "${clientId}"`);
    return generated && secret ? { clientId, secret } : undefined;
  }

  /**
   * Recovery of a lost admin secret (the admin CLI's reset-admin-secret): a new secret for the
   * admin client `clientId`, or, when no client has that id, a new admin client under it. Only
   * its digest is stored; the secret is returned to be shown once.
   */
  async resetAdminSecret(clientId: string | undefined, actor: string): Promise<{ clientId: string; secret: string; created: boolean }> {
    const id = clientId ?? this.config.bootstrapAdminClientId ?? BOOTSTRAP_ADMIN_CLIENT_ID;
    const existing = await this.read(id);
    if (!existing) {
      const { secret } = await this.create(this.bootstrapAdminDto(id, undefined), actor);
      return { clientId: id, secret: secret!, created: true };
    }
    if (!isAdminClient(existing)) {
      throw validationFailed({ client_id: [`client "${id}" is not an admin client (it needs grant client_credentials and scope admin): pass --client-id with a new id to create one`] });
    }
    if (existing.disabled) {
      throw validationFailed({ client_id: [`admin client "${id}" is disabled: pass --client-id with a new id to create an enabled one`] });
    }
    return { clientId: id, secret: await this.rotateSecret(id, actor), created: false };
  }

  private async hasEnabledAdminClient(): Promise<boolean> {
    const clients = await this.repo.find({ select: { clientId: true, scope: true, grantTypes: true, disabled: true } });
    return clients.some((c) => !c.disabled && isAdminClient(c));
  }

  private bootstrapAdminDto(clientId: string, secret: string | undefined): CreateClientDto {
    return {
      client_id: clientId,
      client_name: 'Gatehouse bootstrap admin',
      client_secret: secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      scope: ADMIN_SCOPE,
      default_scope: ADMIN_SCOPE,
    };
  }

  /**
   * The digest of the secret, and for client_secret_jwt also the sealed secret (SPEC §3.2 stores
   * digests; an HMAC assertion can only be checked with the secret itself).
   */
  private async storeSecret(client: Client, secret: string | undefined): Promise<void> {
    client.secretDigest = secret ? secretDigest(secret, this.config.keyEncryptionSecret) : null;
    client.secretEncrypted = secret && client.tokenEndpointAuthMethod === 'client_secret_jwt' ? await this.sealer.seal(client.clientId, secret) : null;
  }

  private apply(client: Client, dto: UpdateClientDto): void {
    const set = <K extends keyof Client>(key: K, value: Client[K] | undefined) => {
      if (value !== undefined) client[key] = value;
    };
    set('clientName', dto.client_name);
    set('tokenEndpointAuthMethod', dto.token_endpoint_auth_method);
    set('grantTypes', dto.grant_types);
    set('redirectUris', dto.redirect_uris);
    set('allowedCorsOrigins', dto.allowed_cors_origins);
    set('postLogoutRedirectUris', dto.post_logout_redirect_uris);
    set('backchannelLogoutUri', dto.backchannel_logout_uri);
    set('backchannelLogoutSessionRequired', dto.backchannel_logout_session_required);
    set('logoutRevokesRefreshTokens', dto.logout_revokes_refresh_tokens);
    set('scope', dto.scope === undefined ? undefined : formatScope(parseScope(dto.scope)));
    set('defaultScope', dto.default_scope === undefined ? undefined : formatScope(parseScope(dto.default_scope)));
    set('jwks', dto.jwks);
    set('jwksUri', dto.jwks_uri);
    set('tlsClientAuthSubjectDn', dto.tls_client_auth_subject_dn);
    set('requirePkce', dto.require_pkce);
    set('requireMfa', dto.require_mfa);
    set('trustEndUserIpHeader', dto.trust_end_user_ip_header);
    set('allowPkcePlain', dto.allow_pkce_plain);
    set('accessTokenFormat', dto.access_token_format);
    set('accessTokenTtl', dto.access_token_ttl);
    set('idTokenTtl', dto.id_token_ttl);
    set('refreshTokenTtl', dto.refresh_token_ttl);
    set('maxExchangePeriodHours', dto.max_exchange_period_hours);
    set('refreshTokenWithoutOfflineAccess', dto.refresh_token_without_offline_access);
    set('accessTokenAudience', dto.access_token_audience);
    set('idTokenSignedResponseAlg', dto.id_token_signed_response_alg);
    set('disabled', dto.disabled);
    client.allowedCorsOrigins ??= [];
    client.postLogoutRedirectUris ??= [];
    client.backchannelLogoutUri ??= null;
    client.clientName ??= null;
    client.jwks ??= null;
    client.jwksUri ??= null;
    client.tlsClientAuthSubjectDn ??= null;
    client.accessTokenAudience ??= null;
  }

  /**
   * With JWKS_URI_BLOCK_PRIVATE=true, the URLs Gatehouse will call that this request sets (jwks_uri,
   * backchannel_logout_uri) must not be, or resolve now to, a non-public address: the request is
   * refused rather than the client registered with a URL every call to which would be refused. The
   * check that counts is the one on the addresses connected to, at each call; a name that does not
   * resolve yet is accepted. URLs set earlier are not checked again here.
   */
  private async checkHosts(dto: UpdateClientDto): Promise<FieldErrors> {
    const errors: FieldErrors = {};
    if (!this.config.jwksUriBlockPrivate) return errors;
    for (const [field, uri] of [
      ['jwks_uri', dto.jwks_uri],
      ['backchannel_logout_uri', dto.backchannel_logout_uri],
    ] as const) {
      if (!uri || !URL.canParse(uri)) continue;
      const refused = await nonPublicHost(new URL(uri));
      if (refused) errors[field] = [`${field}: ${refused.message}`];
    }
    return errors;
  }

  /** Rules across fields, checked on the merged client so create and update agree. */
  private check(client: Client): FieldErrors {
    const errors: FieldErrors = {};
    const allowed = client.allowedScopes();
    const outside = parseScope(client.defaultScope).filter((s) => !allowed.has(s));
    if (outside.length) errors.default_scope = [`default_scope must be a subset of scope (not allowed: ${outside.join(' ')})`];
    if (client.isPublic && client.grantTypes.includes('client_credentials')) {
      errors.grant_types = ['client_credentials needs a confidential client (token_endpoint_auth_method other than none)'];
    }
    if (client.isPublic && client.trustEndUserIpHeader) {
      // A public client runs on the end user's device: anyone could send the header to leave their own address's counter.
      errors.trust_end_user_ip_header = ['trust_end_user_ip_header needs a confidential client (token_endpoint_auth_method other than none)'];
    }
    if (client.jwks && client.jwksUri) errors.jwks = ['jwks and jwks_uri must not both be set (RFC 7591 §2)'];
    const method = client.tokenEndpointAuthMethod;
    if ((method === 'private_key_jwt' || method === 'self_signed_tls_client_auth') && !client.jwks?.keys?.length && !client.jwksUri) {
      errors.jwks = [`${method} needs the client's public keys: jwks (with at least one key) or jwks_uri`];
    }
    if (client.tlsClientAuthSubjectDn !== null && !parseDistinguishedName(client.tlsClientAuthSubjectDn)) {
      errors.tls_client_auth_subject_dn = ['tls_client_auth_subject_dn must be a distinguished name (RFC 4514), e.g. "CN=client,O=Example,C=DE"'];
    } else if (method === 'tls_client_auth' && !client.tlsClientAuthSubjectDn) {
      errors.tls_client_auth_subject_dn = ['tls_client_auth needs tls_client_auth_subject_dn'];
    }
    if (client.grantTypes.includes('authorization_code') && client.redirectUris.length === 0) {
      errors.redirect_uris = ['at least one redirect_uri is required for the authorization_code grant'];
    }
    return errors;
  }
}

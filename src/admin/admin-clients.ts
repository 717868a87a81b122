/**
 * What the AdminGuard asks of the client registry. The Clients module provides it (ClientsService,
 * under ADMIN_CLIENTS), so that the admin API depends on no feature module and every feature
 * module may carry admin endpoints.
 */
export interface AdminClients {
  /**
   * Whether `clientId` names an enabled client that may hold the admin scope and was registered
   * before `tokenIssuedAt` (epoch seconds): a token stops working at once when its client is
   * disabled, deleted (and registered again) or loses the admin scope.
   */
  isAdminClient(clientId: string, tokenIssuedAt: number): Promise<boolean>;
}

export const ADMIN_CLIENTS = Symbol('ADMIN_CLIENTS');

import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ClientsService } from './clients/clients.service';

/** First-start work that needs the whole application: the bootstrap admin client. */
@Injectable()
export class BootstrapService implements OnApplicationBootstrap {
  constructor(private readonly clients: ClientsService) {}

  onApplicationBootstrap(): Promise<void> {
    return this.clients.ensureBootstrapAdmin();
  }
}

import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ClientsService } from './clients/clients.service';

/** First-start work that needs the whole application: the bootstrap admin client. */
@Injectable()
export class BootstrapService implements OnApplicationBootstrap {
  private generated?: { clientId: string; secret: string };

  constructor(private readonly clients: ClientsService) {}

  async onApplicationBootstrap(): Promise<void> {
    this.generated = await this.clients.ensureBootstrapAdmin();
  }

  /** The generated admin secret of this start, if any, handed out once (main.ts shows it after "Listening"). */
  takeGeneratedAdminSecret(): { clientId: string; secret: string } | undefined {
    const generated = this.generated;
    this.generated = undefined;
    return generated;
  }
}

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, Not, Repository } from 'typeorm';
import { StoredKey, type KeyPurpose } from './signing-key.entity';

/**
 * The `keys` table: signing keys, password transport keys and server secrets, told apart by their
 * purpose. The only code that reads or writes it; KeysService, PasswordKeysService and
 * ServerSecretsService each keep their own purposes, in memory, and come here for the rows.
 */
@Injectable()
export class StoredKeysService {
  constructor(@InjectRepository(StoredKey) private readonly repo: Repository<StoredKey>) {}

  /** Stores a new key; a kid that exists already is a unique violation, which callers racing other instances expect. */
  async insert(key: StoredKey): Promise<void> {
    await this.repo.insert(key);
  }

  find(kid: string): Promise<StoredKey | null> {
    return this.repo.findOne({ where: { kid } });
  }

  exists(kid: string, purpose: KeyPurpose): Promise<boolean> {
    return this.repo.exists({ where: { kid, purpose } });
  }

  /** The keys of these purposes, oldest first; retired ones too unless `currentOnly`. */
  list(purposes: KeyPurpose[], options: { currentOnly?: boolean } = {}): Promise<StoredKey[]> {
    return this.repo.find({
      where: { purpose: In(purposes), ...(options.currentOnly ? { retiredAt: IsNull() } : {}) },
      order: { createdAt: 'ASC', kid: 'ASC' },
    });
  }

  /** Retires every current key of `purpose` and `alg` but `keep`: they stay published until `expiresAt`. */
  async retireAllBut(purpose: KeyPurpose, alg: string, keep: string, retiredAt: Date, expiresAt: Date): Promise<void> {
    await this.repo.update({ purpose, alg, retiredAt: IsNull(), kid: Not(keep) }, { retiredAt, expiresAt });
  }
}

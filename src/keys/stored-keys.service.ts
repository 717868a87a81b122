import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, Repository } from 'typeorm';
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

  /**
   * Retires every current key of `purpose` and `alg` but the newest (latest created_at, then
   * greatest kid), in one UPDATE: it never retires the newest current key, so there is always one;
   * and as every rotation runs it after its own INSERT, once every rotation has finished exactly
   * one is left, whatever the interleaving of concurrent rotations on any number of instances.
   */
  async retireAllButNewest(purpose: KeyPurpose, alg: string, retiredAt: Date, expiresAt: Date): Promise<void> {
    // The derived table (SELECT … FROM (SELECT …) newest) lets MySQL read the table it updates (error 1093 otherwise).
    await this.repo.query(
      'UPDATE `keys` SET retired_at = ?, expires_at = ? WHERE purpose = ? AND alg = ? AND retired_at IS NULL AND kid <> ' +
        '(SELECT kid FROM (SELECT kid FROM `keys` WHERE purpose = ? AND alg = ? AND retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1) newest)',
      [retiredAt.getTime(), expiresAt.getTime(), purpose, alg, purpose, alg],
    );
  }
}

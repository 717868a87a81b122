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
   * Retires the current keys of `purpose` and `alg` that sort before `newer` (created earlier, or at
   * the same millisecond with a smaller kid), in one conditional UPDATE. Concurrent rotations each
   * retire only what is older than their own key, so the newest key is never retired: there is
   * always a current key, and exactly one once every rotation has finished.
   */
  async retireOlder(purpose: KeyPurpose, alg: string, newer: Pick<StoredKey, 'kid' | 'createdAt'>, retiredAt: Date, expiresAt: Date): Promise<void> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ retiredAt, expiresAt })
      .where('purpose = :purpose AND alg = :alg AND retired_at IS NULL AND kid <> :kid AND (created_at < :createdAt OR (created_at = :createdAt AND kid < :kid))', {
        purpose,
        alg,
        kid: newer.kid,
        createdAt: newer.createdAt.getTime(),
      })
      .execute();
  }
}

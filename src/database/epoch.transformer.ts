import type { ValueTransformer } from 'typeorm';

/**
 * Instants are stored as BIGINT milliseconds since the epoch: identical on SQLite and MySQL, immune
 * to session time zones and DATETIME precision, and comparable in a single conditional UPDATE.
 */
export const epochMs: ValueTransformer = {
  to: (value: Date | null | undefined) => (value == null ? value : value.getTime()),
  from: (value: string | number | null) => (value == null ? null : new Date(Number(value))),
};

/** MySQL returns BIGINT as a string; counters are small, so read them back as numbers. */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value == null ? null : Number(value)),
};

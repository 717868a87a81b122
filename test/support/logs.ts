import type { DestinationStream } from 'pino';

export interface CapturedLogs {
  /** Give it to startApp({ logStream }). */
  stream: DestinationStream;
  /** Every line written so far, parsed (each must be one JSON object). */
  entries(): Record<string, unknown>[];
  /** Everything written so far, as written. */
  text(): string;
}

/** Collects the JSON log lines of an app started in this process. */
export function captureLogs(): CapturedLogs {
  const chunks: string[] = [];
  return {
    stream: { write: (chunk: string) => void chunks.push(chunk) },
    text: () => chunks.join(''),
    entries: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

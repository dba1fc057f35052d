/**
 * Deterministic zips: entries sorted, one fixed timestamp and mode, so the same inputs give the
 * same bytes (and CloudFormation sees no change when nothing changed).
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ZipFile } from 'yazl';
import { open as openZip, type Entry } from 'yauzl';

/** 1980-01-01, the earliest date a zip can hold; read as UTC (the build pins TZ=UTC). */
const FIXED_MTIME = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));

export interface ZipEntry {
  /** Path inside the zip, forward slashes. */
  name: string;
  data: Buffer;
  /** Unix mode; 0o644 unless executable. */
  mode?: number;
}

/**
 * Writes `entries` to `file` deterministically.
 *
 * @example
 * await writeDeterministicZip('out/lambda.zip', [{ name: 'index.js', data: code }]);
 */
export async function writeDeterministicZip(file: string, entries: readonly ZipEntry[]): Promise<void> {
  if (process.env.TZ !== 'UTC') throw new Error('writeDeterministicZip needs TZ=UTC (zip timestamps are local time)');
  await mkdir(dirname(file), { recursive: true });
  const zip = new ZipFile();
  for (const entry of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    zip.addBuffer(entry.data, entry.name, {
      mtime: FIXED_MTIME,
      mode: 0o100000 | (entry.mode ?? 0o644),
      compress: true,
      compressionLevel: 9,
    });
  }
  zip.end();
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(file);
    zip.outputStream.pipe(out).on('close', resolve).on('error', reject);
    zip.outputStream.on('error', reject);
  });
}

/** Reads every file entry of a zip into memory (used by tests, benchmarks and the helm layer). */
export function readZip(file: string): Promise<Map<string, { data: Buffer; mode: number }>> {
  return new Promise((resolve, reject) => {
    openZip(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const files = new Map<string, { data: Buffer; mode: number }>();
      zip.on('entry', (entry: Entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            files.set(entry.fileName, {
              data: Buffer.concat(chunks),
              mode: (entry.externalFileAttributes >>> 16) & 0o777,
            });
            zip.readEntry();
          });
          stream.on('error', reject);
        });
      });
      zip.on('end', () => resolve(files));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

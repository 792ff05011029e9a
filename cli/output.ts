// What every command's output shares: docker-like tables, the JSON array of `--format json` and
// `inspect`, truncated ids, and durations ("2m", "About a minute"). Pure.

export const SHORT_ID = 12; // docker's truncated id length

/** Pretty JSON as printed by every `--format json` and `inspect` (always an array). */
export function jsonArray(rows: readonly unknown[]): string {
  return JSON.stringify(rows, null, 2);
}

export function isoTime(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

export function shortId(id: string, noTrunc: boolean): string {
  return noTrunc ? id : id.slice(0, SHORT_ID);
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

/** docker's go-units HumanDuration: "Less than a second", "5 seconds", "About a minute", ... */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(Math.max(0, ms) / 1000);
  const minutes = Math.round(seconds / 60);
  const hours = Math.round(seconds / 3600);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** "5 seconds ago" for an ISO time; "" without one. */
export function ago(iso: string | null, nowMs: number): string {
  return iso === null ? '' : `${humanDuration(nowMs - Date.parse(iso))} ago`;
}

/** Short form of a duration in ms: "2m", "1m30s", "500ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}

const MIN_CELL = 10; // docker's tabwriter: min width 10, padding 3
const PADDING = 3;

/** Left-aligned columns like docker's tabwriter; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, col) => Math.max(MIN_CELL, ...all.map((row) => (row[col] ?? '').length + PADDING)));
  return all
    .map((row) =>
      row
        .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

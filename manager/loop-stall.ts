// Logs when the event loop was held: a timer due every TICK_MS that fires more than
// REPORT_MS late means every timer (lease renewals, heartbeat checks) waited that long.
// Cheap (one timer), unref'd, and it names the cause an operator would otherwise guess.
const TICK_MS = 250;
const REPORT_MS = 1_000;

export function watchEventLoop(log: (line: string) => void): () => void {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - TICK_MS;
    last = now;
    if (late > REPORT_MS) {
      const mem = process.memoryUsage();
      log(
        `event loop held for ${Math.round(late)} ms (heap ${Math.round(mem.heapUsed / 2 ** 20)} MiB, rss ${Math.round(mem.rss / 2 ** 20)} MiB)`,
      );
    }
  }, TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

// Overlay networks as a task's controller sees them (NetworkAttachments), set ready by hand.
import type { NetworkAttachments } from '../../agent/network/controller.js';

/** Networks made ready by set(); waiters on changed() are woken then. */
export class Attachments implements NetworkAttachments {
  unsupported = false;
  readonly ready = new Map<string, string>();
  private wake: Array<() => void> = [];
  dockerNetwork(name: string): string | undefined {
    return this.ready.get(name);
  }
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.wake.push(resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  set(name: string): void {
    this.ready.set(name, `shoal-${name}`);
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }
}

/** The fake executor's controller, waiting on `nets` like the Docker one, with addresses. */

/**
 * In-memory stand-ins for the Web Storage, Location and History interfaces, following their
 * specified behaviour closely enough for unit tests (a real Chromium runs the e2e suite).
 */
class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

class FakeLocation {
  url: URL;
  readonly assigned: string[] = [];
  constructor(href: string) {
    this.url = new URL(href);
  }
  get href() {
    return this.url.href;
  }
  get origin() {
    return this.url.origin;
  }
  get pathname() {
    return this.url.pathname;
  }
  get search() {
    return this.url.search;
  }
  get hash() {
    return this.url.hash;
  }
  assign(url: string | URL): void {
    this.assigned.push(String(url));
  }
}

class FakeHistory {
  state: unknown = null;
  readonly entries: string[] = [];
  constructor(private readonly location: FakeLocation) {}
  replaceState(state: unknown, _unused: string, url?: string | URL | null): void {
    this.state = state;
    if (url != null) this.location.url = new URL(url, this.location.href);
    this.entries.push(this.location.href);
  }
}

/** A tab: one session storage, one location, one history. */
export function fakeTab(href: string) {
  const location = new FakeLocation(href);
  return { storage: new MemoryStorage(), location, history: new FakeHistory(location) };
}

type Listener = (event: MessageEvent) => void;

/** A popup `WindowProxy` as seen by its opener. */
export class FakePopup {
  closed = false;
  location = { href: "about:blank" };
  close(): void {
    this.closed = true;
  }
}

/**
 * An opener window with `open` and `message` events. `deliver` follows `postMessage`'s rules:
 * dropped unless `targetOrigin` matches this window's origin; `origin` is the sender's.
 */
export function fakeOpener(href: string, { blockPopups = false } = {}) {
  const listeners = new Set<Listener>();
  const popups: FakePopup[] = [];
  const host = {
    location: new URL(href),
    open(_url: string, _target: string, _features: string) {
      if (blockPopups) return null;
      const popup = new FakePopup();
      popups.push(popup);
      return popup;
    },
    addEventListener(_type: "message", listener: Listener) {
      listeners.add(listener);
    },
    removeEventListener(_type: "message", listener: Listener) {
      listeners.delete(listener);
    },
  };
  const deliver = (data: unknown, targetOrigin: string, origin: string, source: unknown) => {
    if (targetOrigin !== "*" && targetOrigin !== host.location.origin) return;
    for (const listener of [...listeners]) listener({ data, origin, source } as MessageEvent);
  };
  /** The popup's own window, navigated to `url`, with `opener` pointing at `host`. */
  const popupWindow = (popup: FakePopup, url: string) => {
    const location = new URL(url);
    return {
      location,
      opener: {
        postMessage: (message: unknown, targetOrigin: string) =>
          deliver(message, targetOrigin, location.origin, popup),
      },
      close: () => popup.close(),
    };
  };
  return { host, popups, listeners, deliver, popupWindow };
}

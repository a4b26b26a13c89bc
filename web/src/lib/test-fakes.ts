// A tab that a test hides and shows, for what polls only while the page is in view (poller.ts).
export class FakeDocument extends EventTarget {
  visibilityState: DocumentVisibilityState = 'visible';

  /** Hides or shows the tab and tells the listeners, as a browser does. */
  become(state: DocumentVisibilityState): void {
    this.visibilityState = state;
    this.dispatchEvent(new Event('visibilitychange'));
  }
}

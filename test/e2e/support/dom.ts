// The little of the DOM that functions evaluated in the page touch. The test project compiles
// without the DOM library (it is Node code); these describe just enough of the browser's globals.

export interface DomElement {
  readonly tagName: string;
  readonly parentElement: DomElement | null;
  querySelectorAll(selector: string): Iterable<DomElement>;
}

export interface DomWindow {
  readonly document: unknown;
  readonly navigator: { readonly clipboard: { readText(): Promise<string> } };
  getComputedStyle(element: DomElement): { readonly borderRadius: string; readonly backgroundColor: string };
}

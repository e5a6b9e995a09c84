/**
 * A tiny DOM toolkit instead of a framework: `h()` builds elements (text is always set as text, never
 * parsed as HTML), `svg()` the same in the SVG namespace, and a few formatters shared by the pages.
 */

import { formatCredits } from '../amounts.ts';

// One rule for credits everywhere (the widget's too): see amounts.ts.
export { formatApproxUsd, formatCredits } from '../amounts.ts';

export type Child = Node | string | number | null | undefined | false | Child[];
type AttributeValue = string | number | boolean | null | undefined;
export type Attributes = Record<string, AttributeValue | ((event: any) => void)>;

function apply(element: Element, attributes: Attributes | null | undefined, children: Child[]): void {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (typeof value === 'function') {
      element.addEventListener(name.slice(2).toLowerCase(), value as EventListener);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else if (value !== false && value !== null && value !== undefined) {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
}

export function append(parent: Element | DocumentFragment, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(typeof child === 'number' ? String(child) : child);
  }
}

/** `h('button', { class: 'primary', onclick: save }, 'Save')` */
export function h<Tag extends keyof HTMLElementTagNameMap>(
  tag: Tag,
  attributes?: Attributes | null,
  ...children: Child[]
): HTMLElementTagNameMap[Tag] {
  const element = document.createElement(tag);
  apply(element, attributes, children);
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attributes?: Attributes | null, ...children: Child[]): SVGElement {
  const element = document.createElementNS(SVG_NS, tag) as SVGElement;
  apply(element, attributes, children);
  return element;
}

/** Replaces an element's content. */
export function mount(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let uniqueCounter = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix = 'tg'): string {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

export function formatSignedCredits(value: number): string {
  return `${value > 0 ? '+' : value < 0 ? '−' : ''}${formatCredits(Math.abs(value))}`;
}

export function formatUsd(value: number): string {
  return value.toLocaleString('en-US', { style: 'currency', currency: 'USD' });
}

export function formatDate(iso: string | null | undefined, withTime = true): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return withTime
    ? date.toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' })
    : date.toLocaleDateString('en-US', { dateStyle: 'medium' });
}

/** `signup_bonus` → `Signup bonus` */
export function humanize(text: string): string {
  const spaced = text.replace(/[_-]+/g, ' ').trim();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** A short random id for Idempotency-Key headers. */
export function randomId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Adds a stylesheet to the document (or a shadow root) once. */
export function injectStyles(css: string, root: Document | ShadowRoot = document, id = 'tg-styles'): void {
  if (root instanceof Document) {
    if (root.getElementById(id)) return;
    root.head.append(h('style', { id }, css));
  } else {
    root.append(h('style', null, css));
  }
}

/** Reads and clears a value from storage, tolerating storage being unavailable (private modes). */
export function storageGet(storage: Storage, name: string): string | null {
  try {
    return storage.getItem(name);
  } catch {
    return null;
  }
}

export function storageSet(storage: Storage, name: string, value: string | null): void {
  try {
    if (value === null) storage.removeItem(name);
    else storage.setItem(name, value);
  } catch {
    // storage unavailable: the session lasts as long as the page
  }
}

/**
 * Marks a submit button busy while its request runs. `aria-disabled` rather than `disabled`: a
 * disabled button drops the keyboard focus to <body>, and focus must stay where the person was.
 */
export function setBusy(button: HTMLButtonElement, busy: boolean): void {
  if (busy) button.setAttribute('aria-disabled', 'true');
  else button.removeAttribute('aria-disabled');
}

export function isBusy(button: HTMLButtonElement): boolean {
  return button.getAttribute('aria-disabled') === 'true';
}

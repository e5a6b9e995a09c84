/**
 * The messages the host page (sdk.ts) and the widget iframe (widget-page.ts) exchange by
 * postMessage — their only channel. Each side sends with an exact target origin and accepts a
 * message only from the other's window and origin; `tollgate: 1` marks ours among other traffic.
 */

export type CheckoutMode = 'embedded' | 'new_tab' | 'manual';

export interface ErrorInfo {
  code: string;
  message: string;
}

/** From the widget to the host page. */
export type WidgetMessage =
  | { type: 'ready' }
  /** A new anonymous user key (or null: the stored key is no longer valid, forget it). */
  | { type: 'session'; user_key: string | null }
  | { type: 'login_completed'; user_key: string; balance: number }
  | { type: 'checkout_opened'; session_id: string; user_key: string; checkout_url?: string }
  | {
      type: 'purchase_completed';
      session_id: string;
      user_key: string;
      balance: number;
      credits_added: number;
    }
  | { type: 'purchase_error'; error: ErrorInfo }
  | { type: 'error'; error: ErrorInfo }
  | { type: 'complete'; user_key: string; balance: number; credits_added: number }
  | { type: 'logged_out' }
  | { type: 'close' };

/** From the host page to the widget. */
export type HostMessage =
  | { type: 'init'; user_key: string | null }
  /** Focus wrapped around the modal: focus the widget's first (or last) control. */
  | { type: 'focus'; position: 'first' | 'last' };

export type Envelope<Message> = Message & { tollgate: 1 };

export function envelope<Message extends object>(message: Message): Envelope<Message> {
  return { ...message, tollgate: 1 };
}

export function isEnvelope(data: unknown): data is Envelope<{ type: string }> {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as { tollgate?: unknown }).tollgate === 1 &&
    typeof (data as { type?: unknown }).type === 'string'
  );
}

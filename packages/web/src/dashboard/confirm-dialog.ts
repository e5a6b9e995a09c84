/**
 * A confirmation as a native modal <dialog>: focus goes to the safe choice, Escape cancels, and focus
 * returns to the control that asked.
 */
import { h, uid } from './dom.ts';

export interface ConfirmOptions {
  title: string;
  message: string;
  confirmLabel: string;
  cancelLabel?: string;
  destructive?: boolean;
}

export function confirmDialog(options: ConfirmOptions): Promise<boolean> {
  const opener = document.activeElement as HTMLElement | null;
  const titleId = uid('confirm-title');
  const messageId = uid('confirm-message');
  return new Promise((resolve) => {
    let answer = false;
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': titleId, 'aria-describedby': messageId },
      h('h2', { id: titleId }, options.title),
      h('p', { id: messageId }, options.message),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => dialog.close() },
          options.cancelLabel ?? 'Cancel',
        ),
        h(
          'button',
          {
            type: 'button',
            class: options.destructive ? 'danger' : 'primary',
            onclick: () => {
              answer = true;
              dialog.close();
            },
          },
          options.confirmLabel,
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener?.isConnected) opener.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    (dialog.querySelector('button.secondary') as HTMLButtonElement).focus();
  });
}

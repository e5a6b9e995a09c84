/**
 * `/billing-gate.js` for apps: defines `window.TollgateBillingGate`.
 *
 * @example
 * ```html
 * <script src="https://tollgate.example.com/billing-gate.js"></script>
 * <script>
 *   const response = await fetch('/api/generate', { method: 'POST', body });
 *   if (response.status === 402) {
 *     TollgateBillingGate.handleRefusal(402, await response.json(), {
 *       onAddCredits: () => Tollgate.open(),
 *       onAddKeys: () => location.assign('/settings/api-keys'),
 *       onConnectOpenRouter: () => location.assign('/connect/openrouter'),
 *     });
 *   }
 * </script>
 * ```
 */
import {
  closeBillingGate,
  handleRefusal,
  showBillingGate,
  showInsufficientCreditsToast,
  showToast,
} from './billing-gate.ts';

declare global {
  interface Window {
    TollgateBillingGate: typeof api;
  }
}

const api = {
  show: showBillingGate,
  close: closeBillingGate,
  toast: showToast,
  insufficientCredits: showInsufficientCreditsToast,
  handleRefusal,
  version: '1',
};

window.TollgateBillingGate = api;

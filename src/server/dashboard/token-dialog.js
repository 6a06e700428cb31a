// The admin-token dialog: asked for when a call needs the token, or from the header button.
import { adminToken, checkToken } from './api.js';

const dialog = () => document.getElementById('token-dialog');
let pending = null;

/** Opens the dialog; resolves true when a token the service accepts was saved, false on cancel. */
export function askForToken(reason) {
  if (pending) return pending;
  const d = dialog();
  const input = document.getElementById('token-input');
  const error = document.getElementById('token-error');
  document.getElementById('token-reason').textContent = reason ?? '';
  error.textContent = '';
  input.value = '';
  const opener = document.activeElement;
  pending = new Promise((resolve) => {
    const finish = (ok) => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      forget.removeEventListener('click', onForget);
      d.removeEventListener('cancel', onCancel);
      if (d.open) d.close();
      pending = null;
      if (opener instanceof HTMLElement) opener.focus();
      resolve(ok);
    };
    const form = document.getElementById('token-form');
    const cancel = document.getElementById('token-cancel');
    const forget = document.getElementById('token-forget');
    const onSubmit = async (ev) => {
      ev.preventDefault();
      const value = input.value.trim();
      if (!value) {
        error.textContent = 'No token given: enter the admin token first.';
        return;
      }
      let r;
      try {
        r = await checkToken(value);
      } catch (err) {
        error.textContent = `The token could not be checked: ${err.message}`;
        return;
      }
      if (!r.ok) {
        error.textContent = `The service refused this token (wrong token): ${r.message}`;
        input.select();
        return;
      }
      adminToken.set(value);
      finish(true);
    };
    const onCancel = (ev) => {
      ev?.preventDefault?.();
      finish(false);
    };
    const onForget = () => {
      adminToken.clear();
      finish(false);
    };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    forget.addEventListener('click', onForget);
    d.addEventListener('cancel', onCancel);
  });
  d.showModal();
  input.focus();
  return pending;
}

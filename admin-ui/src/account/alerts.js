// How a new signal gets attention: a toast (always), a short sound (opt-in) and a browser
// notification while the tab is in the background (opt-in, and only after the browser's own
// permission prompt). Preferences live in localStorage, per browser.
import { h } from '../shared/dom.js';

const PREF_SOUND = 'signal-relay.alerts.sound';
const PREF_NOTIFY = 'signal-relay.alerts.notify';

const pref = (key) => {
  try { return localStorage.getItem(key) === '1'; } catch { return false; }
};
const setPref = (key, on) => {
  try { localStorage.setItem(key, on ? '1' : '0'); } catch { /* storage disabled: session only */ }
};

let audio = null;

/** A soft two-note chime, synthesised (no audio file to fetch, nothing for the CSP to allow). */
function chime() {
  try {
    audio ??= new AudioContext();
    if (audio.state === 'suspended') audio.resume();
    const t = audio.currentTime;
    for (const [freq, at] of [[880, 0], [1320, 0.09]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + at);
      gain.gain.exponentialRampToValueAtTime(0.15, t + at + 0.015);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + at + 0.3);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + at);
      osc.stop(t + at + 0.32);
    }
  } catch { /* no audio output */ }
}

const notificationsSupported = () => typeof window.Notification === 'function';

/**
 * The alert settings (rendered into `slot`) and `notify(...)`.
 * @param {HTMLElement} toastRegion the page's polite live region for toasts
 */
export function createAlerts(toastRegion) {
  let sound = pref(PREF_SOUND);
  let notify = pref(PREF_NOTIFY);

  const soundInput = h('input', { type: 'checkbox', id: 'alert-sound', checked: sound });
  soundInput.addEventListener('change', () => {
    sound = soundInput.checked;
    setPref(PREF_SOUND, sound);
    if (sound) chime(); // the click is the user gesture that unlocks audio; and a preview
  });

  const notifyState = h('span', { class: 'muted notify-state' });
  const notifyInput = h('input', { type: 'checkbox', id: 'alert-notify' });
  const notifyWrap = h('label', { class: 'check', htmlFor: 'alert-notify' }, notifyInput, h('span', {}, 'Desktop notifications'));
  const syncNotify = () => {
    if (!notificationsSupported()) {
      notifyWrap.hidden = true;
      notifyState.textContent = '';
      return;
    }
    const perm = Notification.permission;
    notifyInput.checked = notify && perm === 'granted';
    notifyInput.disabled = perm === 'denied';
    notifyState.textContent = perm === 'denied' ? 'blocked in your browser settings' : '';
  };
  notifyInput.addEventListener('change', async () => {
    if (!notifyInput.checked) {
      notify = false;
      setPref(PREF_NOTIFY, false);
      syncNotify();
      return;
    }
    let perm = Notification.permission;
    if (perm === 'default') perm = await Notification.requestPermission();
    notify = perm === 'granted';
    setPref(PREF_NOTIFY, notify);
    syncNotify();
  });
  syncNotify();

  const settings = h('div', { class: 'alert-settings', attrs: { role: 'group', 'aria-label': 'Alerts for new signals' } },
    h('label', { class: 'check', htmlFor: 'alert-sound' }, soundInput, h('span', {}, 'Sound')),
    notifyWrap,
    notifyState);

  /**
   * @param {object} a
   * @param {string} a.title   e.g. "New signal in #btc-calls"
   * @param {string} a.body    plain text (never markup)
   * @param {string} [a.tag]   collapses repeated notifications
   * @param {() => void} [a.onOpen]
   */
  function alert({ title, body, tag, onOpen }) {
    toast({ title, body, onOpen });
    if (sound) chime();
    if (notify && notificationsSupported() && Notification.permission === 'granted' && document.visibilityState !== 'visible') {
      try {
        const n = new Notification(title, { body: body.slice(0, 180), tag, silent: sound });
        n.onclick = () => {
          window.focus();
          onOpen?.();
          n.close();
        };
      } catch { /* some browsers only allow notifications from a service worker */ }
    }
  }

  function toast({ title, body, onOpen }) {
    const MAX = 3;
    while (toastRegion.children.length >= MAX) toastRegion.firstElementChild.remove();
    let timer = null;
    const close = () => { clearTimeout(timer); el.remove(); };
    const open = h('button', {
      type: 'button',
      class: 'toast-open',
      onclick: () => { onOpen?.(); close(); },
    }, h('strong', { class: 'toast-title' }, title), body ? h('span', { class: 'toast-body' }, body) : null);
    const dismiss = h('button', { type: 'button', class: 'toast-close', attrs: { 'aria-label': 'Dismiss' }, onclick: close }, '×');
    const el = h('div', { class: 'toast' }, open, dismiss);
    const arm = () => { clearTimeout(timer); timer = setTimeout(close, 6000); };
    // A toast being read (hovered or focused) stays.
    el.addEventListener('mouseenter', () => clearTimeout(timer));
    el.addEventListener('mouseleave', arm);
    el.addEventListener('focusin', () => clearTimeout(timer));
    el.addEventListener('focusout', arm);
    toastRegion.append(el);
    arm();
  }

  return { settings, alert, toast };
}

// The dashboard: a hash router over its views. Each view renders into <main> and may poll;
// leaving the view stops its timers.
import { clear, fill, h, pageTitle } from './dom.js';
import { num } from './format.js';
import { api, ApiError } from './api.js';
import { askForToken } from './token-dialog.js';
import { watchReviewCount } from './nav-count.js';

const ROUTES = [
  { re: /^\/?$/, nav: 'overview', title: 'Overview', load: () => import('./views/overview.js') },
  { re: /^\/activity$/, nav: 'activity', title: 'Activity', load: () => import('./views/activity.js') },
  { re: /^\/attempt\/(\d+)$/, nav: 'activity', title: 'Record', load: () => import('./views/record.js') },
  { re: /^\/jobs$/, nav: 'jobs', title: 'Jobs', load: () => import('./views/jobs.js') },
  { re: /^\/runs$/, nav: 'runs', title: 'Runs', load: () => import('./views/runs.js') },
  { re: /^\/review$/, nav: 'review', title: 'Review', load: () => import('./views/review.js') },
  { re: /^\/messages$/, nav: 'messages', title: 'Messages', load: () => import('./views/messages.js') },
  { re: /^\/usage$/, nav: 'usage', title: 'Usage', load: () => import('./views/usage.js') },
  { re: /^\/sync$/, nav: 'sync', title: 'Manual sync', load: () => import('./views/sync.js') },
  { re: /^\/lab$/, nav: 'lab', title: 'Prompt lab', load: () => import('./views/lab.js') },
  { re: /^\/validation$/, nav: 'validation', title: 'Validation', load: () => import('./views/validation.js') },
  { re: /^\/config$/, nav: 'config', title: 'Configuration', load: () => import('./views/config.js') },
];

/** A view's lifetime: timers and listeners that end when the person navigates away. */
class Life {
  constructor() {
    this.alive = true;
    this.disposers = [];
  }
  /** Runs fn every `ms` (after the previous run finished), skipping while the tab is hidden. */
  every(ms, fn) {
    let timer;
    const tick = async () => {
      if (!this.alive) return;
      if (!document.hidden) {
        try {
          await fn();
        } catch {
          /* the next tick tries again; the view shows its own errors */
        }
      }
      if (this.alive) timer = setTimeout(tick, ms);
    };
    timer = setTimeout(tick, ms);
    this.disposers.push(() => clearTimeout(timer));
  }
  on(target, event, fn) {
    target.addEventListener(event, fn);
    this.disposers.push(() => target.removeEventListener(event, fn));
  }
  dispose() {
    this.alive = false;
    for (const d of this.disposers.splice(0)) d();
  }
}

let current = null;
let firstRoute = true;

function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  const [path, qs] = raw.split('?');
  return { path, params: new URLSearchParams(qs ?? '') };
}

/** Changes the query part of the current route without reloading the view. */
export function setParams(params) {
  const { path } = parseHash();
  const qs = new URLSearchParams([...params].filter(([, v]) => v !== '' && v !== null && v !== undefined)).toString();
  history.replaceState(null, '', `#${path}${qs ? `?${qs}` : ''}`);
}

async function route() {
  const main = document.getElementById('view');
  const moveFocus = !firstRoute;
  firstRoute = false;
  const { path, params } = parseHash();
  const found = ROUTES.map((r) => ({ r, m: r.re.exec(path) })).find((x) => x.m);
  current?.dispose();
  const life = new Life();
  current = life;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (found && a.dataset.nav === found.r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!found) {
    // Its own title and heading: the tab must not keep saying the page left behind.
    document.title = 'Page not found · ipaas-openai';
    fill(main, h('div', { class: 'page-head' }, pageTitle('Page not found')),
      h('p', null, 'There is no page ', h('code', null, `#${path}`), ' in this dashboard. ', h('a', { href: '#/' }, 'Go to the overview'), ', or pick a page from the menu.'));
    if (moveFocus) main.querySelector('h1')?.focus?.();
    return;
  }
  document.title = `${found.r.title} · ipaas-openai`;
  try {
    const mod = await found.r.load();
    if (!life.alive) return;
    clear(main);
    await mod.render(main, { params, match: found.m, life });
  } catch (err) {
    if (!life.alive) return;
    fill(main, h('div', { class: 'page-head' }, pageTitle(found.r.title)), viewError(err));
  }
  // After a navigation, move focus to the new page's heading so keyboard and screen-reader users
  // start there; on first load the browser's own order (skip link first) applies.
  if (life.alive && moveFocus && !main.contains(document.activeElement)) main.querySelector('h1')?.focus?.({ preventScroll: false });
}

export function viewError(err) {
  const message = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  const fix = err instanceof ApiError ? err.fix : undefined;
  return h('div', { class: 'callout callout-bad', role: 'alert' }, h('p', { class: 'callout-title' }, 'Could not load this page'), h('p', null, message), fix ? h('p', { class: 'fix' }, h('strong', null, 'Fix: '), fix) : null);
}

/**
 * A list view's poll: GETs the path, shows a failure in errorArea (cleared on success), and returns the
 * page only when it differs from the last one, so an unchanged poll keeps the rows and any focus in them.
 */
export function changedPage(errorArea, life) {
  let last = '';
  return async (path) => {
    let page;
    try {
      page = await api('GET', path);
      clear(errorArea);
    } catch (err) {
      fill(errorArea, viewError(err));
      return undefined;
    }
    if (!life.alive) return undefined;
    const json = JSON.stringify(page);
    if (json === last) return undefined;
    last = json;
    return page;
  };
}

/**
 * The "Showing a–b of N" line and the "← Newer / Older →" buttons of a list shown a page at a time;
 * `show` sets both from the page on screen (`of`: the total as the list words it, "3 runs").
 */
export function pager(summaryId) {
  const summary = h('p', { class: 'muted', id: summaryId, 'aria-live': 'polite' });
  const prev = h('button', { type: 'button' }, '← Newer');
  const next = h('button', { type: 'button' }, 'Older →');
  return {
    summary, prev, next,
    nav: h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, next),
    show(offset, shown, total, of) {
      summary.textContent = `Showing ${num(total ? offset + 1 : 0)}–${num(offset + shown)} of ${of}`;
      prev.disabled = offset === 0;
      next.disabled = offset + shown >= total;
    },
  };
}

document.getElementById('token-button').addEventListener('click', () => askForToken(''));
window.addEventListener('hashchange', route);
route();
watchReviewCount();

// The menu's count of answers waiting for review: shown beside "Review" while some wait, read every
// 10 s without asking for the token (a tab without one beyond localhost just shows no count).
import { peek } from './api.js';

let timer;

/** Reads the count now and shows it; pages that change it (approve, reject) call this at once. */
export async function refreshReviewCount() {
  const link = document.querySelector('[data-nav="review"]');
  const badge = document.getElementById('review-count');
  if (!link || !badge) return;
  const s = await peek('/api/review/summary');
  const n = s?.waiting ?? 0;
  badge.hidden = n === 0;
  badge.textContent = n ? String(n) : '';
  // Said in words for screen readers; the number alone would read as part of the name.
  link.setAttribute('aria-label', n ? `Review, ${n} ${n === 1 ? 'answer waits' : 'answers wait'}` : 'Review');
}

export function watchReviewCount(ms = 10_000) {
  clearTimeout(timer);
  const tick = async () => {
    if (!document.hidden) await refreshReviewCount();
    timer = setTimeout(tick, ms);
  };
  tick();
}

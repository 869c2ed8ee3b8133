// Landing page: shows whether the API answers /health.
const el = document.getElementById('health');
const label = el.querySelector('.label');

async function check() {
  try {
    const res = await fetch('/health', { cache: 'no-store' });
    el.dataset.state = res.ok ? 'live' : 'offline';
    label.textContent = res.ok ? 'API online' : `API answered ${res.status}`;
  } catch {
    el.dataset.state = 'offline';
    label.textContent = 'API unreachable';
  }
}
check();

// "Customer pages": a tenant's public prefix.
const go = document.getElementById('customer-go');
go.addEventListener('submit', (e) => {
  e.preventDefault();
  const key = go.elements.tenant.value.trim();
  if (key) window.location.assign(`/t/${encodeURIComponent(key)}/`);
});

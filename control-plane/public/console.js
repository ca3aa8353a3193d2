// The console's only script: the live incident list. Without it every page still works (reload to refresh).
'use strict';
(function () {
  const status = document.getElementById('live-status');
  const rows = document.getElementById('incident-rows');
  if (!status || !rows || !window.EventSource) return;
  const source = new EventSource(status.dataset.src);
  source.addEventListener('incident', (e) => {
    const data = JSON.parse(e.data);
    const tpl = document.createElement('template');
    tpl.innerHTML = data.html.trim();
    const row = tpl.content.firstElementChild;
    const old = document.getElementById('inc-' + data.id);
    if (old) {
      if (data.match) old.replaceWith(row);
      else old.remove();
    } else if (data.match) rows.prepend(row);
    else return;
    row.classList.add('fresh');
    const empty = document.getElementById('no-incidents');
    if (empty) empty.remove();
    status.textContent = 'Live: ' + row.querySelector('a').textContent + ' updated.';
  });
  source.addEventListener('signedout', () => {
    source.close();
    window.location.href =
      '/console/signin?next=' + encodeURIComponent(window.location.pathname + window.location.search);
  });
  source.addEventListener('error', () => {
    status.textContent = 'Live updates paused; retrying.';
  });
})();

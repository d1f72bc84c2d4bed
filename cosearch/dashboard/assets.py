"""The page's stylesheet and script (Python strings so they ship inside the package).

The script reads the JSON blob ``#cosearch-data`` ({template, figures, pairs, designs,
summaries}) and draws figures into ``#fig-<name>`` divs with ``Plotly.react``.
"""

CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 24px 40px; color: #222; }
header { border-bottom: 2px solid #1f5fa8; margin-bottom: 8px; }
header h1 { font-size: 22px; margin: 14px 0 4px; }
header p { margin: 2px 0; color: #444; font-size: 14px; }
h2 { font-size: 18px; margin: 22px 0 6px; color: #1f5fa8; }
h3 { font-size: 15px; margin: 14px 0 4px; }
.note { color: #666; font-size: 13px; margin-left: 12px; }
.row { display: flex; flex-wrap: wrap; gap: 12px; }
.row > .plot { flex: 1 1 560px; min-width: 0; }
select { font-size: 14px; margin: 4px 6px; }
#design-summary { font-size: 13px; background: #f4f6fa; padding: 6px 10px; border-radius: 4px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d5dbe5; padding: 3px 8px; text-align: left; white-space: nowrap; }
th { background: #e8ecf2; cursor: pointer; user-select: none; }
th.asc::after { content: ' ▲'; } th.desc::after { content: ' ▼'; }
tbody tr { cursor: pointer; } tbody tr:hover { background: #eef4fb; } tr.selected { background: #dbe9f6; }
#table { overflow-x: auto; }
"""

JS = r"""
(function () {
  const D = JSON.parse(document.getElementById('cosearch-data').textContent);
  const CONFIG = {responsive: true, displaylogo: false};

  function show(name, key) {
    const el = document.getElementById('fig-' + name);
    if (!el) return false;
    const fig = D.figures[key];
    if (!fig) { el.style.display = 'none'; Plotly.purge(el); return false; }
    el.style.display = '';
    const layout = Object.assign({}, fig.layout, {template: D.template});
    Plotly.react(el, fig.data, layout, CONFIG);
    return true;
  }

  function toggle(id, visible) {
    const el = document.getElementById(id);
    if (el) el.style.display = visible ? '' : 'none';
  }

  function selectDesign(trial) {
    const select = document.getElementById('design-select');
    if (!select || !D.designs.includes(trial)) return false;
    select.value = String(trial);
    show('map', 'map:' + trial);
    const hasBreakdown = show('breakdown', 'breakdown:' + trial);
    toggle('breakdown-title', hasBreakdown);
    toggle('no-breakdown', !hasBreakdown);
    toggle('cell-title', show('cell', 'cell:' + trial));
    document.getElementById('design-summary').innerHTML = D.summaries[String(trial)] || '';
    document.querySelectorAll('#pareto-table tbody tr').forEach(function (tr) {
      tr.classList.toggle('selected', tr.dataset.trial === String(trial));
    });
    return true;
  }

  function selectPair(pair) {
    show('pareto', 'pareto:' + pair);
    show('compare', 'compare:' + pair);
  }

  const pair = document.getElementById('pair');
  if (pair) {
    pair.addEventListener('change', function () { selectPair(pair.value); });
    selectPair(D.pairs[0]);
    const front = document.getElementById('fig-pareto');
    front.on('plotly_click', function (ev) {
      const trial = ev.points[0].customdata;
      if (selectDesign(trial)) document.getElementById('design').scrollIntoView({behavior: 'smooth'});
    });
  }
  show('pareto3d', 'pareto3d');
  show('progress', 'progress');
  show('parallel', 'parallel');

  const designSelect = document.getElementById('design-select');
  if (designSelect) {
    designSelect.addEventListener('change', function () { selectDesign(Number(designSelect.value)); });
    const linked = Number((location.hash.match(/trial=(\d+)/) || [])[1]);  // e.g. dashboard.html#trial=12
    selectDesign(D.designs.includes(linked) ? linked : D.designs[0]);
  }

  const table = document.getElementById('pareto-table');
  if (table) {
    table.querySelectorAll('th').forEach(function (th, column) {
      th.addEventListener('click', function () {
        const ascending = !th.classList.contains('asc');
        table.querySelectorAll('th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
        th.classList.add(ascending ? 'asc' : 'desc');
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        const key = function (tr) { return tr.cells[column].dataset.v; };
        const numeric = rows.every(function (tr) { return key(tr) === '' || !isNaN(Number(key(tr))); });
        rows.sort(function (a, b) {
          const x = key(a), y = key(b);
          const order = numeric ? (Number(x) - Number(y)) : x.localeCompare(y);
          return ascending ? order : -order;
        });
        rows.forEach(function (tr) { body.appendChild(tr); });
      });
    });
    table.querySelectorAll('tbody tr').forEach(function (tr) {
      tr.addEventListener('click', function () {
        if (selectDesign(Number(tr.dataset.trial))) document.getElementById('design').scrollIntoView({behavior: 'smooth'});
      });
    });
  }
})();
"""

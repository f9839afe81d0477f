/**
 * The dashboard's own stylesheet, served from `/assets/dashboard.css` next to the shared one:
 * wider pages for tables, the navigation, key rows and the chart. Colours come from the shared
 * sheet's text colour where possible, so a dark scheme carries over.
 */
export const DASHBOARD_STYLESHEET = `
main:has(.dashboard){max-width:72rem}
.dashboard-nav{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem 1rem;border-bottom:1px solid #8884;padding-bottom:.75rem;margin-bottom:1.25rem}
.dashboard-nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;margin:0;padding:0}
.dashboard-nav a{text-decoration:none;font-weight:600;padding:.25rem 0}
.dashboard-nav a[aria-current=page]{text-decoration:underline;text-underline-offset:.35em;text-decoration-thickness:2px}
.dashboard-signout{display:flex;align-items:center;gap:.75rem;flex-wrap:wrap}
.dashboard-signout button{margin:0}
.table-wrap{overflow-x:auto;margin:1rem 0}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid #8884;vertical-align:top}
th{font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.label-cell{word-break:break-word;max-width:16rem}
.row-actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.row-actions form{margin:0}
.row-actions button,.row-actions a.button{margin:0;padding:.3rem .7rem;font-size:.9rem}
a.button{display:inline-block;border-radius:8px;border:1px solid currentColor;text-decoration:none}
button.danger{background:#b42318;border-color:#b42318;color:#fff}
.badge{display:inline-block;font-size:.8rem;padding:0 .45rem;border-radius:999px;border:1px solid currentColor}
.notice{background:#e7f6ec;color:#14532d;padding:.6rem .8rem;border-radius:8px}
.panel{border:1px solid #8884;border-radius:10px;padding:1rem 1.25rem;margin:1.25rem 0}
.panel h2{font-size:1.1rem;margin:0 0 .5rem}
.inline-fields{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:flex-start}
.inline-fields>div{flex:1 1 12rem}
select{font:inherit;padding:.55rem;border:1px solid #c5c9d3;border-radius:8px;width:100%}
.chart{min-height:320px;margin:1rem 0}
.chart-caption{margin:.25rem 0}
.key-once{font-family:ui-monospace,monospace;word-break:break-all;padding:.8rem;border-radius:8px;border:1px dashed currentColor;user-select:all}
@media (prefers-color-scheme:dark){.notice{background:#0f3d24;color:#d1fadf}}
`;

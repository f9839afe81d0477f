/**
 * The one stylesheet, served from `/assets/keyport.css` so the CSP needs no inline styles.
 * Colours are custom properties with a dark set under `prefers-color-scheme: dark`; every pair
 * used for text passes WCAG AA contrast in both schemes (the pages' axe checks run in both).
 * Nothing is wider than the viewport down to 320 px: long words wrap, wide tables scroll inside
 * their own `.table-wrap` box.
 */
export const STYLESHEET = `
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--text:#1d2330;--muted:#545a69;--border:#c5c9d3;--accent:#4a3aff;--accent-text:#fff;--link:#3a2ad6;--soft:#f0f1f5;--error-bg:#fdecec;--error:#9b1c1c;--warn-bg:#fff6e0;--warn:#6e4400;--ok-bg:#e7f6ec;--ok:#165c2c;--shadow:#0002}
@media (prefers-color-scheme:dark){:root{--bg:#12141a;--card:#1c1f27;--text:#e6e8ee;--muted:#a7adbb;--border:#464b59;--accent:#8b80ff;--accent-text:#10121a;--link:#a9a1ff;--soft:#272b35;--error-bg:#3a1717;--error:#ffb4b4;--warn-bg:#3a2c0d;--warn:#ffd98a;--ok-bg:#12321d;--ok:#9be3b2;--shadow:#0008}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--text);overflow-wrap:anywhere}
a{color:var(--link)}
.site{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1rem;max-width:60rem;margin:0 auto;padding:.75rem 1rem}
.brand{font-weight:700;letter-spacing:.02em;color:var(--link);margin:0;text-decoration:none;display:inline-flex;align-items:center;gap:.4rem}
.brand img{width:1.5rem;height:1.5rem}
.site nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem;flex:1}
.site nav a{text-decoration:none}.site nav a[aria-current=page]{font-weight:700;text-decoration:underline}
.site form{margin:0}.site form button{margin:0;padding:.3rem .8rem}
main{max-width:28rem;margin:1rem auto 3rem;padding:2rem;background:var(--card);border-radius:12px;box-shadow:0 1px 3px var(--shadow)}
main.wide{max-width:60rem}
@media (max-width:480px){main{margin:0 0 2rem;padding:1.25rem 1rem;border-radius:0}}
h1{font-size:1.4rem;margin:0 0 1rem}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input[type=email],input[type=password],input[type=text],input[type=number],input[type=search],select{width:100%;max-width:100%;padding:.6rem;border:1px solid var(--border);border-radius:8px;font:inherit;background:var(--card);color:var(--text)}
input[aria-invalid=true]{border-color:var(--error);outline:1px solid var(--error)}
button,.button{display:inline-block;font:inherit;padding:.6rem 1.2rem;border-radius:8px;border:1px solid var(--accent);background:var(--accent);color:var(--accent-text);cursor:pointer;margin-top:1.25rem;text-decoration:none}
button.secondary,.button.secondary{background:var(--card);color:var(--link)}
button.link{background:none;border:0;padding:0;margin:0;color:var(--link);text-decoration:underline;cursor:pointer}
button.danger{background:var(--card);color:var(--error);border-color:var(--error)}
.actions{display:flex;flex-wrap:wrap;gap:.75rem}
.error{background:var(--error-bg);color:var(--error);padding:.6rem .8rem;border-radius:8px}
.field-error{color:var(--error);margin:.25rem 0 0;font-size:.95rem}
.warning{background:var(--warn-bg);color:var(--warn);padding:.6rem .8rem;border-radius:8px}
.notice{background:var(--ok-bg);color:var(--ok);padding:.6rem .8rem;border-radius:8px}
.app{font-size:1.15rem;font-weight:700;overflow-wrap:anywhere}
.code{font-family:ui-monospace,monospace;font-size:1.05rem;overflow-wrap:anywhere;background:var(--soft);padding:.8rem;border-radius:8px;user-select:all}
code{font-family:ui-monospace,monospace;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:auto minmax(0,1fr);gap:.25rem 1rem}dt{color:var(--muted)}dd{margin:0;min-width:0}
small,.muted{color:var(--muted)}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--border);vertical-align:top}
th{color:var(--muted);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:0}
.inline label{margin:0}.inline button{margin:0}
.pager{display:flex;gap:1rem;justify-content:space-between;margin-top:1rem}
`;

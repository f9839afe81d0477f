/** The one stylesheet, served from `/assets/keyport.css` so the CSP needs no inline styles. */
export const STYLESHEET = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330}
main{max-width:28rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 3px #0002}
.brand{font-weight:700;letter-spacing:.02em;color:#4a3aff;margin:0 0 1rem}
h1{font-size:1.4rem;margin:0 0 1rem}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input[type=email],input[type=password],input[type=text],input[type=number]{width:100%;padding:.6rem;border:1px solid #c5c9d3;border-radius:8px;font:inherit}
button{font:inherit;padding:.6rem 1.2rem;border-radius:8px;border:1px solid #4a3aff;background:#4a3aff;color:#fff;cursor:pointer;margin-top:1.25rem}
button.secondary{background:#fff;color:#4a3aff}
.actions{display:flex;gap:.75rem}
.error{background:#fdecec;color:#9b1c1c;padding:.6rem .8rem;border-radius:8px}
.warning{background:#fff6e0;color:#7a4b00;padding:.6rem .8rem;border-radius:8px}
.app{font-size:1.15rem;font-weight:700;word-break:break-all}
.code{font-family:ui-monospace,monospace;font-size:1.05rem;word-break:break-all;background:#f0f1f5;padding:.8rem;border-radius:8px;user-select:all}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}dt{color:#5b6170}dd{margin:0}
small,.muted{color:#5b6170}
`;
